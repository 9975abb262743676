/*
---
name: Quarterly fundamentals
description: Revenue, margins, earnings per share and leverage of one company, by quarter.
category: Equity
subCategory: Fundamentals
gridData: {w: 40, h: 12}
staleTime: 3600000
params:
  - paramName: ticker
    type: endpoint
    label: Ticker
    optionsQuery: ticker_options
    value: AAPL
  - paramName: quarters
    type: number
    label: Quarters
    description: How many recent quarters to show
    value: 8
data:
  table:
    columnsDefs:
      - {field: period_end, headerName: Quarter end, cellDataType: dateString, pinned: left}
      - {field: fiscal_year, headerName: Year, cellDataType: number, chartDataType: category}
      - {field: fiscal_quarter, headerName: Q, cellDataType: number, chartDataType: category}
      - {field: revenue, headerName: Revenue, cellDataType: number, formatterFn: int, prefix: "$"}
      - {field: gross_margin, headerName: Gross margin, cellDataType: number, formatterFn: normalizedPercent, decimalPlaces: 1}
      - {field: net_income, headerName: Net income, cellDataType: number, formatterFn: int, prefix: "$", renderFn: greenRed}
      - {field: eps, headerName: EPS, cellDataType: number, formatterFn: none, decimalPlaces: 2}
      - {field: debt_to_assets, headerName: Debt / assets, cellDataType: number, formatterFn: normalizedPercent, decimalPlaces: 1}
---
*/
SELECT period_end, fiscal_year, fiscal_quarter, revenue,
       gross_profit / revenue AS gross_margin,
       net_income, eps,
       total_debt / total_assets AS debt_to_assets
FROM fundamentals
WHERE symbol = :ticker
ORDER BY period_end DESC
LIMIT :quarters
