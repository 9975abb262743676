/*
---
name: News feed
description: Latest news stories about one company, newest first.
category: Equity
subCategory: News
type: newsfeed
gridData: {w: 16, h: 14}
staleTime: 300000
params:
  - paramName: ticker
    type: endpoint
    label: Ticker
    optionsQuery: ticker_options
    value: AAPL
  - paramName: stories
    type: number
    label: Stories
    value: 10
newsfeed:
  date: published_at
---
*/
SELECT title, published_at, author, excerpt, body
FROM news
WHERE symbol = :ticker
ORDER BY published_at DESC
LIMIT :stories
