/** @type {import('tailwindcss').Config} */
// Tailwind v3 configuration for IM2.0 Pay.
// Content paths are relative to the working directory: always run the CLI
// from the repository root (the Makefile and static/generated_test.go do).
module.exports = {
  content: [
    "./views/**/*.templ",
    // templ output: class names built in Go code end up here too.
    "./views/**/*.go",
  ],
  theme: {
    extend: {
      colors: {
        // A calm teal brand; 600 is the primary action colour.
        brand: {
          50: "#effcf9",
          100: "#c9f5ec",
          200: "#96eadb",
          300: "#5cd6c5",
          400: "#2fbcab",
          500: "#16a092",
          600: "#0f8078",
          700: "#106762",
          800: "#12524f",
          900: "#134542",
        },
      },
      fontFamily: {
        // Chinese first: macOS, then Linux/Android (Noto), then Windows.
        sans: [
          '"PingFang SC"',
          '"Noto Sans CJK SC"',
          '"Noto Sans SC"',
          '"Microsoft YaHei"',
          "system-ui",
          "sans-serif",
        ],
        // Amounts: tabular digits that sit well beside the CJK sans text.
        mono: [
          "ui-monospace",
          "SFMono-Regular",
          "Menlo",
          '"Noto Sans Mono"',
          '"DejaVu Sans Mono"',
          "monospace",
        ],
      },
    },
  },
  plugins: [],
};
