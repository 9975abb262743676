/*
---
name: Compare returns
description: Total return, high and low of several tickers over a window (multi-select).
category: Screens
gridData: {w: 20, h: 10}
params:
  - paramName: tickers
    type: endpoint
    label: Tickers
    optionsQuery: ticker_options
    multiSelect: true
    value: AAPL,MSFT,NVDA
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
    columnsDefs:
      - {field: symbol, headerName: Ticker, cellDataType: text, pinned: left}
      - {field: first_close, headerName: First close, cellDataType: number, formatterFn: none, decimalPlaces: 2}
      - {field: last_close, headerName: Last close, cellDataType: number, formatterFn: none, decimalPlaces: 2}
      - {field: total_return, headerName: Return, cellDataType: number, formatterFn: normalizedPercent, decimalPlaces: 1, renderFn: greenRed}
      - {field: high, headerName: High, cellDataType: number, formatterFn: none, decimalPlaces: 2}
      - {field: low, headerName: Low, cellDataType: number, formatterFn: none, decimalPlaces: 2}
---
*/
WITH window_prices AS (
  SELECT symbol, date, close,
         ROW_NUMBER() OVER (PARTITION BY symbol ORDER BY date) AS first_rank,
         ROW_NUMBER() OVER (PARTITION BY symbol ORDER BY date DESC) AS last_rank
  FROM prices
  WHERE symbol IN (:tickers)
    AND date BETWEEN :start AND :end
)
SELECT f.symbol,
       f.close AS first_close,
       l.close AS last_close,
       l.close / f.close - 1 AS total_return,
       (SELECT MAX(close) FROM window_prices w WHERE w.symbol = f.symbol) AS high,
       (SELECT MIN(close) FROM window_prices w WHERE w.symbol = f.symbol) AS low
FROM window_prices f
JOIN window_prices l ON l.symbol = f.symbol AND l.last_rank = 1
WHERE f.first_rank = 1
ORDER BY total_return DESC
