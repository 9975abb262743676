/*
---
name: Sector leaders
description: Companies of one sector ranked by return since a date, with a 30-day price trend.
category: Screens
gridData: {w: 24, h: 14}
params:
  - paramName: sector
    type: endpoint
    label: Sector
    optionsQuery: sector_options
    value: Technology
  - paramName: since
    type: date
    label: Return since
    value: $currentDate-1M
data:
  table:
    columnsDefs:
      - field: symbol
        headerName: Ticker
        pinned: left
        renderFn: cellOnClick
        renderFnParams: {actionType: groupBy, groupBy: {paramName: ticker}}
      - {field: name, headerName: Company}
      - {field: last_close, headerName: Last close, formatterFn: none, decimalPlaces: 2}
      - field: change
        headerName: Return
        formatterFn: normalizedPercent
        decimalPlaces: 1
        renderFn: columnColor
        renderFnParams:
          colorRules:
            - {condition: gt, value: 0, color: green, fill: true}
            - {condition: lt, value: 0, color: red, fill: true}
      - {field: trend, headerName: 30-day trend, sparkline: {type: line}}
---
*/
SELECT t.symbol, t.name,
       (SELECT close FROM prices WHERE symbol = t.symbol ORDER BY date DESC LIMIT 1) AS last_close,
       (SELECT close FROM prices WHERE symbol = t.symbol ORDER BY date DESC LIMIT 1)
         / (SELECT close FROM prices WHERE symbol = t.symbol AND date <= :since ORDER BY date DESC LIMIT 1)
         - 1 AS change,
       -- array_agg over the last 30 closes, oldest first (a JSON array on SQLite, an array on PostgreSQL)
       (SELECT array_agg(close)
          FROM (SELECT date, close
                  FROM (SELECT date, close FROM prices
                         WHERE symbol = t.symbol ORDER BY date DESC LIMIT 30) latest
                 ORDER BY date LIMIT 30) ordered) AS trend
FROM tickers t
WHERE t.sector = :sector
ORDER BY change DESC
