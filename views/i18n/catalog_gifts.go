package i18n

// giftTexts holds the strings of gifts (礼物): catalog, sending, sent and received lists.
var giftTexts = map[string]texts{}
