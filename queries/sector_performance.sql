/*
---
name: Sector performance
description: Average total return of each sector's companies over a window.
category: Screens
gridData: {w: 20, h: 10}
params:
  - paramName: start
    type: date
    label: From
    value: $currentDate-3M
  - paramName: end
    type: date
    label: To
    value: $currentDate
data:
  table:
    enableCharts: true
    chartView: {enabled: true, chartType: column, cellRangeCols: {column: [sector, avg_return]}}
    columnsDefs:
      - {field: sector, headerName: Sector, cellDataType: text, chartDataType: category}
      - {field: companies, headerName: Companies, cellDataType: number, chartDataType: excluded, formatterFn: int}
      - {field: avg_return, headerName: Avg. return, cellDataType: number, chartDataType: series, formatterFn: normalizedPercent, decimalPlaces: 1, renderFn: greenRed}
---
*/
WITH ranked AS (
  SELECT p.symbol, t.sector, p.close,
         ROW_NUMBER() OVER (PARTITION BY p.symbol ORDER BY p.date) AS first_rank,
         ROW_NUMBER() OVER (PARTITION BY p.symbol ORDER BY p.date DESC) AS last_rank
  FROM prices p
  JOIN tickers t ON t.symbol = p.symbol
  WHERE p.date BETWEEN :start AND :end
),
returns AS (
  SELECT f.sector, l.close / f.close - 1 AS total_return
  FROM ranked f
  JOIN ranked l ON l.symbol = f.symbol AND l.last_rank = 1
  WHERE f.first_rank = 1
)
SELECT sector, COUNT(*) AS companies, AVG(total_return) AS avg_return
FROM returns
GROUP BY sector
ORDER BY avg_return DESC
