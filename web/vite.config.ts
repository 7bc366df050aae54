/// <reference types="vitest/config" />
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import tailwindcss from '@tailwindcss/vite'
import { tanstackRouter } from '@tanstack/router-plugin/vite'
import react from '@vitejs/plugin-react'
import { defineConfig, type Plugin } from 'vite'

// The build lands in the Python package, which serves it (newapi/web/static.py) and ships it as
// package data in the wheel and the image.
const OUT_DIR = '../newapi/web_dist'

/** Writes a `.gz` twin of every text asset, so the server sends compressed bytes without
 * compressing per request. */
function precompress(): Plugin {
  return {
    name: 'newapi-precompress',
    apply: 'build',
    closeBundle() {
      const walk = (dir: string): string[] =>
        readdirSync(dir).flatMap((name) => {
          const path = join(dir, name)
          return statSync(path).isDirectory() ? walk(path) : [path]
        })
      for (const file of walk(OUT_DIR)) {
        if (!/\.(js|css|html|svg|json|txt)$/.test(file)) continue
        const raw = readFileSync(file)
        if (raw.length < 512) continue
        const packed = gzipSync(raw, { level: 9 })
        if (packed.length < raw.length) writeFileSync(`${file}.gz`, packed)
      }
    },
  }
}

export default defineConfig({
  plugins: [
    tanstackRouter({ target: 'react', autoCodeSplitting: true }),
    react(),
    tailwindcss(),
    precompress(),
  ],
  resolve: { alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) } },
  build: {
    outDir: OUT_DIR,
    emptyOutDir: true,
    // For the bundle report (scripts/bundle-report.mjs); the server does not serve dot-directories.
    manifest: true,
    chunkSizeWarningLimit: 700,
  },
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:3000',
      '/pg': 'http://127.0.0.1:3000',
    },
  },
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.test.{ts,tsx}'],
  },
})
