import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The hub serves the build from dist/ui, next to its own compiled code, at /ui/.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/ui/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    chunkSizeWarningLimit: 200,
  },
});
