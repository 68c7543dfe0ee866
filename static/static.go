package static

import "embed"

// FS is served under /static: the built Tailwind CSS, vendored htmx and the
// images, compiled into the binary so a deploy is one file.
//
//go:embed css/app.css js img
var FS embed.FS
