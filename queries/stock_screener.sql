/*
---
name: Stock screener
description: Companies by sector, exchange and minimum headcount, with their latest close.
category: Screens
gridData: {w: 40, h: 14}
staleTime: 300000
params:
  - - paramName: sector
      type: endpoint
      label: Sector
      optionsQuery: sector_options
      value: Technology
    - paramName: exchange
      type: text
      label: Exchange
      value: ""
      options:
        - {label: Any, value: ""}
        - {label: NASDAQ, value: NASDAQ}
        - {label: NYSE, value: NYSE}
  - - paramName: min_employees
      type: number
      label: Min. employees
      value: 0
    - paramName: listed_before
      type: date
      label: Listed before
      value: $currentDate
data:
  table:
    columnsDefs:
      - {field: symbol, headerName: Ticker, cellDataType: text, pinned: left, renderFn: cellOnClick, renderFnParams: {actionType: groupBy, groupBy: {paramName: ticker}}}
      - {field: name, headerName: Company, cellDataType: text}
      - {field: industry, headerName: Industry, cellDataType: text}
      - {field: exchange, headerName: Exchange, cellDataType: text}
      - {field: employees, headerName: Employees, cellDataType: number, formatterFn: int}
      - {field: ipo_date, headerName: Listed, cellDataType: dateString}
      - {field: last_close, headerName: Last close, cellDataType: number, formatterFn: none, decimalPlaces: 2, prefix: "$"}
---
*/
SELECT t.symbol, t.name, t.industry, t.exchange, t.employees, t.ipo_date,
       p.close AS last_close
FROM tickers t
JOIN prices p ON p.symbol = t.symbol
 AND p.date = (SELECT MAX(date) FROM prices WHERE symbol = t.symbol)
WHERE t.sector = :sector
  AND (:exchange = '' OR t.exchange = :exchange)
  AND t.employees >= :min_employees
  AND t.ipo_date <= :listed_before
ORDER BY t.symbol
