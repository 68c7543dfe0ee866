package i18n

// statementTexts holds the strings of the complete statement: CSV export and the monthly summary.
var statementTexts = map[string]texts{}
