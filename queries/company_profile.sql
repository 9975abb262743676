/*
---
name: Company profile
description: Name, sector, industry, exchange and headcount of one company.
category: Equity
subCategory: Fundamentals
gridData: {w: 20, h: 8}
staleTime: 3600000
params:
  - paramName: ticker
    type: endpoint
    label: Ticker
    optionsQuery: ticker_options
    value: AAPL
data:
  table:
    transpose: true
    columnsDefs:
      - {field: symbol, headerName: Ticker, cellDataType: text}
      - {field: name, headerName: Name, cellDataType: text}
      - {field: sector, headerName: Sector, cellDataType: text}
      - {field: industry, headerName: Industry, cellDataType: text}
      - {field: exchange, headerName: Exchange, cellDataType: text}
      - {field: employees, headerName: Employees, cellDataType: number, formatterFn: int}
      - {field: ipo_date, headerName: Listed since, cellDataType: dateString}
      - {field: description, headerName: About, cellDataType: text}
---
*/
SELECT symbol, name, sector, industry, exchange, employees, ipo_date, description
FROM tickers
WHERE symbol = :ticker
