package i18n

// apiTexts holds the strings the service API's ledger lines need (the
// descriptions of per-use charges in the history).
var apiTexts = map[string]texts{}
