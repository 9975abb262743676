/*
---
name: Price chart
description: Candlestick chart with volume of one ticker since a date (synthetic demo data).
category: Equity
subCategory: Prices
type: chart
raw: true
gridData: {w: 24, h: 14}
staleTime: 60000
params:
  - paramName: ticker
    type: endpoint
    label: Ticker
    optionsQuery: ticker_options
    value: AAPL
  - paramName: start
    type: date
    label: From
    value: $currentDate-6M
chart:
  kind: candlestick
  x: date
  volume: volume
  yTitle: Price
  yFormat: ",.2f"
---
*/
SELECT date, open, high, low, close, volume
FROM prices
WHERE symbol = :ticker AND date >= :start
ORDER BY date
