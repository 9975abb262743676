/*
---
name: Cross section
description: Every ticker's bars between two dates (benchmark dataset).
category: Benchmark
staleTime: 60000
params:
  - paramName: start
    type: date
  - paramName: end
    type: date
---
*/
SELECT symbol, date, open, high, low, close, volume
FROM bars
WHERE date BETWEEN :start AND :end
ORDER BY symbol, date
