/*
---
name: Bars
description: Daily bars of one ticker between two dates (benchmark dataset).
category: Benchmark
staleTime: 60000
params:
  - paramName: ticker
    type: text
    value: T0000
  - paramName: start
    type: date
    value: $currentDate-1y
  - paramName: end
    type: date
    value: $currentDate
---
*/
SELECT date, open, high, low, close, volume
FROM bars
WHERE symbol = :ticker AND date BETWEEN :start AND :end
ORDER BY date
