// Builds plotly-descent.min.js from entry.js with plotly.js's own esbuild settings (its
// esbuild-config.js), minified, with a first line that names the version and the trace types.
// Run by `make plotly-bundle`; the built file is committed, so neither `make run` nor CI needs Node.
const fs = require('fs');
const path = require('path');
const esbuild = require('esbuild');
const { environmentPlugin } = require('esbuild-plugin-environment');
const { glsl } = require('esbuild-plugin-glsl');
const InlineCSSPlugin = require('esbuild-plugin-inline-css');

const here = __dirname;
const version = require('plotly.js/package.json').version;
const entry = fs.readFileSync(path.join(here, 'entry.js'), 'utf8');
const traces = ['scatter', ...[...entry.matchAll(/plotly\.js\/lib\/([a-z0-9]+)'/g)].map((m) => m[1])]
    .filter((t) => t !== 'core');

esbuild.build({
    entryPoints: [path.join(here, 'entry.js')],
    outfile: path.join(here, 'plotly-descent.min.js'),
    banner: { js: `/*! plotly.js v${version} (MIT license, Copyright Plotly, Inc.): Descent Lab's subset, traces: ${traces.join(',')} */` },
    format: 'iife',
    globalName: 'Plotly',
    bundle: true,
    minify: true,
    legalComments: 'none',
    sourcemap: false,
    plugins: [InlineCSSPlugin(), glsl({ minify: true }), environmentPlugin({ NODE_DEBUG: false })],
    alias: { regl: '@plotly/regl', stream: 'stream-browserify' },
    define: { global: 'window', 'define.amd': 'false' },
    target: 'es2016',
    logLevel: 'warning',
}).catch((err) => { console.error(err); process.exit(1); });
