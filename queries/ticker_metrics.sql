/*
---
name: Key figures
description: Last close with its daily change, trading range and average volume of one ticker.
category: Equity
subCategory: Prices
type: metric
gridData: {w: 16, h: 6}
staleTime: 60000
params:
  - paramName: ticker
    type: endpoint
    label: Ticker
    optionsQuery: ticker_options
    value: AAPL
  - paramName: since
    type: date
    label: Range from
    value: $currentDate-1y
---
*/
WITH recent AS (
  SELECT date, close FROM prices WHERE symbol = :ticker ORDER BY date DESC LIMIT 2
),
year AS (
  SELECT MAX(high) AS high, MIN(low) AS low, AVG(volume) AS volume
  FROM prices
  WHERE symbol = :ticker AND date >= :since
)
SELECT 'Last close' AS label,
       ROUND(CAST((SELECT close FROM recent ORDER BY date DESC LIMIT 1) AS NUMERIC), 2) AS value,
       ROUND(CAST((SELECT close FROM recent ORDER BY date DESC LIMIT 1)
                  - (SELECT close FROM recent ORDER BY date LIMIT 1) AS NUMERIC), 2) AS delta
UNION ALL
SELECT 'High', ROUND(CAST(high AS NUMERIC), 2), NULL FROM year
UNION ALL
SELECT 'Low', ROUND(CAST(low AS NUMERIC), 2), NULL FROM year
UNION ALL
SELECT 'Avg. daily volume', ROUND(CAST(volume AS NUMERIC), 0), NULL FROM year
