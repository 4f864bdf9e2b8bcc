#!/usr/bin/env node
// Ask Readium's own pop-up decision about every note reference of an EPUB, in
// headless Chromium: popupFootNote() of the npm package r2-navigator-js (the
// navigator of Thorium Reader), its file
// dist/es8-es2017/src/electron/renderer/webview/popupFootNotes.js as installed in
// node_modules, run unchanged. It is asked as Thorium asks it on a click
// (r2-navigator-js, webview/preload.js): each spine document is loaded from its
// own URL and the link's resolved href is passed in.
//
//   node readium-popups.mjs BOOK.epub RESULT.json [CHROMIUM]
//
// RESULT: { versions, references: [{ document, id, href, popup, local, target,
// text, reason }], problems: [...], fatal }. Exit status 0 when a result was
// written, 2 on bad usage.
//
// `popup` is what popupFootNote() returned (true: Thorium shows the pop-up). The
// module's CommonJS requires are met in the page by a small loader below: each
// file is served from node_modules, found as Node finds it (its `path` is the
// npm package path-browserify, Node's posix path for browsers, where Thorium's
// Electron gives it Node's own); only the dialog (../common/popup-dialog) is a
// stand-in, which records the HTML it was asked to show instead of showing it.
// `text` is that HTML's text. `local` (the note is in the link's own document),
// `target` and, for a "no", `reason` are the harness's own reading of the same
// conditions, for the report.
import fs from 'node:fs'
import http from 'node:http'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import JSZip from 'jszip'
import { chromium } from 'playwright-core'

const here = path.dirname(fileURLToPath(import.meta.url))
const [epubPath, resultPath, executable = '/usr/bin/chromium'] = process.argv.slice(2)
if (!epubPath || !resultPath) {
    console.error('usage: node readium-popups.mjs BOOK.epub RESULT.json [CHROMIUM]')
    process.exit(2)
}
const result = { versions: {}, references: [], problems: [], fatal: null }
const types = { '.xhtml': 'application/xhtml+xml', '.css': 'text/css', '.png': 'image/png',
    '.jpg': 'image/jpeg', '.svg': 'image/svg+xml', '.js': 'text/javascript' }

// ------------------------------------------------ Readium's modules, as Node finds them
const nodeModules = path.join(here, 'node_modules')
const ENTRY_SPEC = 'r2-navigator-js/dist/es8-es2017/src/electron/renderer/webview/popupFootNotes.js'
const DIALOG_SPEC = '../common/popup-dialog'
const DIALOG = 'popup-dialog (stand-in)'

// { key (path under node_modules): { url, deps: { specifier: key or DIALOG } } }
function moduleGraph(entryFile) {
    const modules = {}
    const visit = file => {
        const key = path.relative(nodeModules, file).split(path.sep).join('/')
        if (key.startsWith('..')) throw new Error(`${file} is outside ${nodeModules}`)
        if (modules[key]) return key
        const module = modules[key] = { url: `/node_modules/${key}`, deps: {} }
        const source = fs.readFileSync(file, 'utf8')
        for (const [, spec] of source.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)) {
            module.deps[spec] = file === entryFile && spec === DIALOG_SPEC ? DIALOG
                : visit(createRequire(file).resolve(spec === 'path' ? 'path-browserify' : spec))
        }
        return key
    }
    return { entry: visit(entryFile), modules }
}

const packageVersion = (name, from) => JSON.parse(fs.readFileSync(
    createRequire(from).resolve(`${name}/package.json`), 'utf8')).version

// In the page: fetch the modules, run them as CommonJS, return the entry's exports;
// the dialog stand-in pushes { html, shown, anchor } to window.readiumDialogs.
async function loadReadium({ entry, modules, dialogKey }) {
    window.readiumDialogs = []
    class PopupDialog {
        constructor(documant, html, onDialogClosed) {
            this.record = { html, shown: false, anchor: null, closable: typeof onDialogClosed === 'function' }
            window.readiumDialogs.push(this.record)
        }
        show(element) {
            this.record.shown = true
            this.record.anchor = element
        }
    }
    const sources = Object.fromEntries(await Promise.all(Object.entries(modules).map(
        async ([key, { url }]) => {
            const response = await fetch(url)
            if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`)
            return [key, await response.text()]
        })))
    const process = { cwd: () => '/', env: {} }  // path-browserify's resolve() may ask
    const cache = {}
    const load = key => {
        if (key === dialogKey) return { PopupDialog }
        if (!cache[key]) {
            const module = cache[key] = { exports: {} }
            const require = spec => {
                if (!(spec in modules[key].deps)) throw new Error(`${key}: unexpected require("${spec}")`)
                return load(modules[key].deps[spec])
            }
            new Function('exports', 'require', 'module', 'process',
                `${sources[key]}\n//# sourceURL=${new URL(modules[key].url, location.href)}`)(
                module.exports, require, module, process)
        }
        return cache[key].exports
    }
    window.readium = { popupFootNote: load(entry).popupFootNote,
        styles: load(modules[entry].deps['../../common/styles']) }
}

// In the page: each note reference, Readium's answer and the harness's reading of it.
async function askReadium() {
    const OPS = 'http://www.idpf.org/2007/ops'
    const links = [...document.querySelectorAll('a[href]')].filter(a =>
        (a.getAttributeNS(OPS, 'type') ?? '').split(/\s+/).includes('noteref')
        || (a.getAttribute('role') ?? '').split(/\s+/).includes('doc-noteref'))
    const textOf = html => new DOMParser().parseFromString(html, 'text/html').body
        .textContent.replace(/\s+/g, ' ').trim()
    // The conditions popupFootNote() checks, in its order: why it would say no.
    const whyNot = async (a, href) => {
        if (document.documentElement.classList.contains(window.readium.styles.ROOT_CLASS_NO_FOOTNOTES))
            return 'pop-up notes are off'
        const type = a.getAttribute('epub:type') || a.getAttributeNS(OPS, 'type') || a.getAttribute('role')
        if (!type) return 'the link has no epub:type or role'
        if (!type.includes('noteref')) return 'the link is not a noteref'
        const url = new URL(href, location.href)
        if (!url.hash) return 'the link has no fragment'
        if (url.origin !== location.origin) return 'the note is outside the publication'
        let where = document
        if (url.pathname !== location.pathname) {
            try {
                where = new DOMParser().parseFromString(await (await fetch(href)).text(),
                    'application/xhtml+xml')
            } catch (error) {
                return `the note's document could not be fetched: ${error}`
            }
        }
        let target = null
        try {
            target = where.querySelector(url.hash)
        } catch (error) {
            return `${url.hash} is not a CSS selector: ${error.message}`
        }
        if (!target) return `no element ${url.hash} in ${url.pathname}`
        if (!target.innerHTML) return `${url.hash} is empty`
        return 'unknown'
    }
    const out = []
    for (const a of links) {
        const href = a.href
        const url = new URL(href, location.href)
        const before = window.readiumDialogs.length
        let popup
        let error = null
        try {
            popup = await window.readium.popupFootNote(a, () => {}, href, () => 0, () => {})
        } catch (e) {
            popup = false
            error = `popupFootNote() threw: ${e}`
        }
        const dialogs = window.readiumDialogs.slice(before)
        const dialog = dialogs.length === 1 && dialogs[0].shown && dialogs[0].anchor === a
            ? dialogs[0] : null
        out.push({
            id: a.id,
            href: a.getAttribute('href'),
            popup: popup === true,
            local: url.pathname === location.pathname,
            target: decodeURIComponent(url.hash.slice(1)),
            text: dialog ? textOf(dialog.html) : '',
            reason: popup === true ? null : error ?? await whyNot(a, href),
            dialogs: dialogs.length,
            returned: String(popup),
            shown: dialog !== null,
        })
    }
    return out
}

// ------------------------------------------------------------------------ the run
const zip = await JSZip.loadAsync(fs.readFileSync(epubPath))
let graph = null
const server = http.createServer(async (req, res) => {
    const name = decodeURIComponent(new URL(req.url, 'http://127.0.0.1').pathname).slice(1)
    let data = null
    if (name.startsWith('book/'))
        data = await zip.file(name.slice('book/'.length))?.async('nodebuffer')
    else if (name.startsWith('node_modules/') && graph?.modules[name.slice('node_modules/'.length)])
        data = fs.readFileSync(path.join(here, name))
    if (!data) {
        res.writeHead(404).end()
        return
    }
    res.writeHead(200, { 'content-type': types[path.extname(name)] ?? 'application/octet-stream' })
        .end(data)
})
let browser = null
const deadline = setTimeout(() => {
    result.fatal ??= 'the run took longer than 60 s'
    fs.writeFileSync(resultPath, JSON.stringify(result, null, 2))
    process.exit(1)
}, 60000)
try {
    const entryFile = createRequire(path.join(here, 'package.json')).resolve(ENTRY_SPEC)
    graph = moduleGraph(entryFile)
    result.versions = {
        'r2-navigator-js': packageVersion('r2-navigator-js', path.join(here, 'package.json')),
        'r2-utils-js': packageVersion('r2-utils-js', entryFile),
        'path-browserify': packageVersion('path-browserify', path.join(here, 'package.json')),
    }
    await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
    const base = `http://127.0.0.1:${server.address().port}`
    const container = await zip.file('META-INF/container.xml').async('string')
    const opfPath = container.match(/full-path="([^"]+)"/)[1]
    const opf = await zip.file(opfPath).async('string')
    const hrefs = Object.fromEntries([...opf.matchAll(/<item [^>]*>/g)].map(m => m[0])
        .map(tag => [tag.match(/id="([^"]+)"/)[1], tag.match(/href="([^"]+)"/)[1]]))
    const spine = [...opf.matchAll(/<itemref [^>]*idref="([^"]+)"/g)]
        .map(m => path.posix.join(path.posix.dirname(opfPath), hrefs[m[1]]))
    browser = await chromium.launch({ executablePath: executable, headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
            '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'] })
    const page = await browser.newPage()
    page.on('pageerror', error => result.problems.push(`page error: ${error.message}`))
    for (const document of spine) {
        await page.goto(`${base}/book/${document}`, { waitUntil: 'load' })
        await page.evaluate(loadReadium, { ...graph, dialogKey: DIALOG })
        const found = await page.evaluate(askReadium)
        for (const ref of found) {
            const { dialogs, returned, shown, ...kept } = ref
            if (returned !== 'true' && returned !== 'false')
                result.problems.push(`${document}#${ref.id}: popupFootNote() returned ${returned}`)
            if (ref.popup && !shown)
                result.problems.push(`${document}#${ref.id}: "yes" but the dialog was not shown once on the link`)
            if (!ref.popup && dialogs)
                result.problems.push(`${document}#${ref.id}: "no" but a dialog was made`)
            result.references.push({ document, ...kept })
        }
    }
} catch (error) {
    result.fatal = error.stack ?? String(error)
} finally {
    clearTimeout(deadline)
    await browser?.close().catch(() => {})
    server.close()
    fs.writeFileSync(resultPath, JSON.stringify(result, null, 2))
}
process.exit(0)
