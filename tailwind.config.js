/** @type {import('tailwindcss').Config} */
// Tailwind v3 configuration for IM2.0 Pay.
// Content paths are relative to the working directory: always run the CLI
// from the repository root (the Makefile and static/generated_test.go do).
const shades = [50, 100, 200, 300, 400, 500, 600, 700, 800, 900, 950];

// palette maps each shade of a colour to its custom property, keeping
// Tailwind's opacity modifiers (bg-white/10, ring-brand-500/30) working.
function palette(name) {
  return Object.fromEntries(shades.map((s) => [s, `rgb(var(--c-${name}-${s}) / <alpha-value>)`]));
}

module.exports = {
  content: [
    "./views/**/*.templ",
    // templ output: class names built in Go code end up here too.
    "./views/**/*.go",
  ],
  theme: {
    extend: {
      // Every colour the pages use is a CSS custom property (static/css/
      // input.css defines them, light and dark), so the dark scheme flips
      // the palette in one place and the templates need no dark: variants.
      colors: {
        slate: palette("slate"),
        // A calm teal brand; 600 is the primary action colour.
        brand: palette("brand"),
        red: palette("red"),
        emerald: palette("emerald"),
        amber: palette("amber"),
        sky: palette("sky"),
      },
      // White backgrounds (cards, the header, inputs) are the surface colour,
      // dark in the dark scheme; white text stays white.
      backgroundColor: {
        white: "rgb(var(--c-surface) / <alpha-value>)",
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
