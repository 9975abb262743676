/*
---
name: Top movers
description: Biggest daily gainers or losers on the most recent trading day up to a date.
category: Screens
gridData: {w: 20, h: 10}
staleTime: 60000
params:
  - paramName: as_of
    type: date
    label: As of
    value: $currentDate
  - paramName: gainers
    type: boolean
    label: Gainers (off = losers)
    value: true
  - paramName: top
    type: number
    label: How many
    value: 10
data:
  table:
    columnsDefs:
      - {field: symbol, headerName: Ticker, cellDataType: text, pinned: left}
      - {field: date, headerName: Date, cellDataType: dateString}
      - {field: close, headerName: Close, cellDataType: number, formatterFn: none, decimalPlaces: 2}
      - {field: change, headerName: Change, cellDataType: number, formatterFn: normalizedPercent, decimalPlaces: 2, renderFn: greenRed}
---
*/
WITH days AS (
  SELECT DISTINCT date FROM prices WHERE date <= :as_of ORDER BY date DESC LIMIT 2
),
moves AS (
  SELECT cur.symbol, cur.date, cur.close, cur.close / prev.close - 1 AS change
  FROM prices cur
  JOIN prices prev ON prev.symbol = cur.symbol
   AND prev.date = (SELECT MIN(date) FROM days)
  WHERE cur.date = (SELECT MAX(date) FROM days)
)
SELECT symbol, date, close, change
FROM moves
ORDER BY CASE WHEN :gainers THEN -change ELSE change END
LIMIT :top
