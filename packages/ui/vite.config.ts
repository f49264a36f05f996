import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

// The app is built into dist/public, beside the built server that serves it (src/server/serve.ts).
export default defineConfig({
  root: 'src/web',
  plugins: [react()],
  build: { outDir: '../../dist/public', emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  // `npm run dev`: the API of a `podline ui` on its default port. The Host header is kept, so the
  // API's origin check sees the page's own origin.
  server: { proxy: { '/api': { target: 'http://127.0.0.1:7070', changeOrigin: false } } },
})
