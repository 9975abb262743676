/*
---
name: History
description: Full daily history of one ticker (benchmark dataset).
category: Benchmark
staleTime: 60000
params:
  - paramName: ticker
    type: text
    value: T0000
---
*/
SELECT date, open, high, low, close, volume
FROM bars
WHERE symbol = :ticker
ORDER BY date
