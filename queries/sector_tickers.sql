/*
---
name: Sector drill-down
description: Pick a sector, then one of its tickers (cascading dropdowns); recent closes.
category: Equity
subCategory: Prices
gridData: {w: 20, h: 12}
params:
  - paramName: sector
    type: endpoint
    label: Sector
    optionsQuery: sector_options
    value: Energy
    passThrough: true
  - paramName: ticker
    type: endpoint
    label: Ticker
    optionsQuery: ticker_options
    optionsParams: {sector: $sector}
    value: XOM
  - paramName: days
    type: number
    label: Days
    value: 20
data:
  table:
    columnsDefs:
      - {field: date, headerName: Date, cellDataType: dateString, pinned: left}
      - {field: close, headerName: Close, cellDataType: number, formatterFn: none, decimalPlaces: 2}
      - {field: volume, headerName: Volume, cellDataType: number, formatterFn: int}
---
*/
SELECT date, close, volume
FROM prices
WHERE symbol = :ticker
ORDER BY date DESC
LIMIT :days
