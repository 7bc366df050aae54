// Gzipped JavaScript each console page loads on a first visit: the entry chunk, the page's route
// chunks (layout and page) and everything they import statically, each file counted once.
// Usage: node scripts/bundle-report.mjs [--max-login KB]   (after `vite build`)
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'

const OUT = new URL('../../newapi/web_dist/', import.meta.url).pathname
const manifest = JSON.parse(readFileSync(join(OUT, '.vite/manifest.json'), 'utf8'))
const gz = new Map()
const size = (file) => {
  if (!gz.has(file)) gz.set(file, gzipSync(readFileSync(join(OUT, file)), { level: 9 }).length)
  return gz.get(file)
}
const closure = (keys) => {
  const seen = new Set()
  const walk = (key) => {
    const chunk = manifest[key]
    if (!chunk || seen.has(chunk.file)) return
    seen.add(chunk.file)
    for (const dep of chunk.imports ?? []) walk(dep)
  }
  keys.forEach(walk)
  return seen
}
const entry = Object.keys(manifest).find((k) => manifest[k].isEntry)
const split = (route) => Object.keys(manifest).filter((k) => k.startsWith(`src/routes/${route}`) && k.includes('tsr-split'))
const PAGES = {
  login: ['console/login.tsx'],
  register: ['console/register.tsx'],
  setup: ['console/setup.tsx'],
  dashboard: ['console/_app.tsx', 'console/_app/index.tsx'],
  keys: ['console/_app.tsx', 'console/_app/keys.tsx'],
  channels: ['console/_app.tsx', 'console/_app/channels.tsx'],
  logs: ['console/_app.tsx', 'console/_app/logs.tsx'],
  playground: ['console/_app.tsx', 'console/_app/playground.tsx'],
  users: ['console/_app.tsx', 'console/_app/users.tsx'],
  redemptions: ['console/_app.tsx', 'console/_app/redemptions.tsx'],
  profile: ['console/_app.tsx', 'console/_app/profile.tsx'],
  wallet: ['console/_app.tsx', 'console/_app/wallet.tsx'],
  pricing: ['console/pricing.tsx'],
  settings: ['console/_app.tsx', 'console/_app/settings.tsx'],
  home: ['console/home.tsx'],
  about: ['console/about.tsx'],
}
const report = {}
for (const [page, routes] of Object.entries(PAGES)) {
  const files = closure([entry, ...routes.flatMap(split)])
  report[page] = [...files].reduce((sum, f) => sum + size(f), 0)
}
for (const [page, bytes] of Object.entries(report)) console.log(`${page.padEnd(12)} ${(bytes / 1024).toFixed(1).padStart(7)} KB gzipped JS`)
const limit = process.argv.indexOf('--max-login')
if (limit > 0) {
  const max = Number(process.argv[limit + 1]) * 1024
  if (report.login > max) {
    console.error(`login page loads ${(report.login / 1024).toFixed(1)} KB of gzipped JS, over the ${max / 1024} KB budget`)
    process.exit(1)
  }
}
