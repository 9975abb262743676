/*
---
name: Company news
description: Latest news items about one company.
category: Equity
subCategory: News
gridData: {w: 20, h: 12}
staleTime: 300000
params:
  - paramName: ticker
    type: endpoint
    label: Ticker
    optionsQuery: ticker_options
    value: AAPL
  - paramName: since
    type: date
    label: Since
    value: $currentDate-1M
data:
  table:
    columnsDefs:
      - {field: published_at, headerName: Published, cellDataType: dateString, width: 170}
      - {field: title, headerName: Title, cellDataType: text}
      - {field: author, headerName: Author, cellDataType: text}
      - {field: excerpt, headerName: Summary, cellDataType: text}
---
*/
SELECT published_at, title, author, excerpt
FROM news
WHERE symbol = :ticker AND published_at >= :since
ORDER BY published_at DESC
