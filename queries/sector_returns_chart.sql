/*
---
name: Sector returns
description: Average return of each sector's companies over a window, as bars.
category: Screens
type: chart
raw: true
gridData: {w: 20, h: 12}
params:
  - paramName: start
    type: date
    label: From
    value: $currentDate-3M
chart:
  kind: bar
  x: sector
  y: avg_return
  yFormat: ".1%"
  yTitle: Average return
---
*/
WITH ranked AS (
  SELECT p.symbol, t.sector, p.close,
         ROW_NUMBER() OVER (PARTITION BY p.symbol ORDER BY p.date) AS first_rank,
         ROW_NUMBER() OVER (PARTITION BY p.symbol ORDER BY p.date DESC) AS last_rank
  FROM prices p
  JOIN tickers t ON t.symbol = p.symbol
  WHERE p.date >= :start
)
SELECT f.sector, AVG(l.close / f.close - 1) AS avg_return
FROM ranked f
JOIN ranked l ON l.symbol = f.symbol AND l.last_rank = 1
WHERE f.first_rank = 1
GROUP BY f.sector
ORDER BY avg_return DESC
