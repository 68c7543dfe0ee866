package i18n

// a11yTexts holds the strings only assistive technology and keyboard users
// meet: the skip link, names of otherwise unlabelled regions.
var a11yTexts = map[string]texts{
	"a11y.skip": {"跳到主要内容", "Skip to content"},
}
