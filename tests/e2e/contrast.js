// The colour of each element's text (fill for SVG text) against the first opaque background behind
// it, translucent layers blended on the way; WCAG's relative luminance and contrast ratio.
// Evaluated by tests/e2e/console_tour.py::contrast on a list of elements.
(elements) => {
  const parse = (c) => {
    const m = c.match(/rgba?\(([^)]+)\)/)
    if (!m) return null
    const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number)
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]
  }
  const over = (top, bottom) => top.slice(0, 3).map((v, i) => v * top[3] + bottom[i] * (1 - top[3])).concat(1)
  const background = (el) => {
    const layers = []
    for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor)
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break }
    }
    let color = [255, 255, 255, 1]
    for (const layer of layers.reverse()) color = over(layer, color)
    return color
  }
  const lum = (c) => {
    const ch = c.slice(0, 3).map((v) => {
      v /= 255
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4)
    })
    return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2]
  }
  return elements.map((el) => {
    const style = getComputedStyle(el)
    const isSvg = el instanceof SVGElement
    const bg = background(isSvg ? el.closest('div') : el)
    let fg = parse(isSvg ? style.fill : style.color) || [0, 0, 0, 1]
    fg = over(fg, bg)
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x)
    return {text: (el.textContent || '').trim().slice(0, 40), ratio: Math.round((a + 0.05) / (b + 0.05) * 100) / 100,
            fg: style.color, fill: style.fill, bg: 'rgb(' + bg.slice(0, 3).map(Math.round).join(',') + ')', bgLum: lum(bg)}
  })
}
