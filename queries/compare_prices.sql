/*
---
name: Relative performance
description: Several tickers indexed to 100 at the start date, one line each.
category: Screens
type: chart
raw: true
gridData: {w: 20, h: 12}
params:
  - paramName: tickers
    type: endpoint
    label: Tickers
    optionsQuery: ticker_options
    multiSelect: true
    value: AAPL,MSFT,NVDA,AMZN
  - paramName: start
    type: date
    label: From
    value: $currentDate-1y
chart:
  kind: line
  x: date
  y: indexed
  series: symbol
  yTitle: Indexed (start = 100)
  yFormat: ".0f"
---
*/
WITH window_prices AS (
  SELECT symbol, date, close,
         FIRST_VALUE(close) OVER (PARTITION BY symbol ORDER BY date) AS first_close
  FROM prices
  WHERE symbol IN (:tickers) AND date >= :start
)
SELECT date, symbol, 100.0 * close / first_close AS indexed
FROM window_prices
ORDER BY date, symbol
