import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

// The app is built into dist/public, beside the built server that serves it (src/server/serve.ts).
export default defineConfig({
  root: 'src/web',
  plugins: [react()],
  build: { outDir: '../../dist/public', emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  server: { proxy: { '/api': 'http://127.0.0.1:7070' } },
})
