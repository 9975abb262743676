/*
---
name: Daily prices
description: Daily OHLCV bars of one ticker between two dates (synthetic demo data).
category: Equity
subCategory: Prices
gridData: {w: 20, h: 14}
staleTime: 60000
refetchInterval: 300000
params:
  - paramName: ticker
    type: endpoint
    label: Ticker
    description: Company ticker
    optionsQuery: ticker_options
    value: AAPL
  - paramName: start
    type: date
    label: From
    value: $currentDate-1y
  - paramName: end
    type: date
    label: To
    value: $currentDate
data:
  table:
    enableCharts: true
    chartView: {enabled: false, chartType: line, cellRangeCols: {line: [date, close]}}
    columnsDefs:
      - {field: date, headerName: Date, cellDataType: dateString, chartDataType: time, pinned: left}
      - {field: open, headerName: Open, cellDataType: number, formatterFn: none, decimalPlaces: 2}
      - {field: high, headerName: High, cellDataType: number, formatterFn: none, decimalPlaces: 2}
      - {field: low, headerName: Low, cellDataType: number, formatterFn: none, decimalPlaces: 2}
      - {field: close, headerName: Close, cellDataType: number, chartDataType: series, formatterFn: none, decimalPlaces: 2}
      - {field: volume, headerName: Volume, cellDataType: number, formatterFn: int}
---
*/
SELECT date, open, high, low, close, volume
FROM prices
WHERE symbol = :ticker
  AND date BETWEEN :start AND :end
ORDER BY date
