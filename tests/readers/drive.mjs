#!/usr/bin/env node
// Open one EPUB in one reading system (foliate-js or epub.js) inside headless
// Chromium, walk it as a reader would, and write what the reader showed as JSON.
//
//   node drive.mjs PLAN.json RESULT.json
//
// PLAN (written by tests/readers_support.py):
//   reader      "foliate" | "epubjs"       (the page <reader>.html in this folder)
//   epub        the EPUB to open
//   out         folder for the screenshots, named <reader>-<shot>.png
//   viewport    { width, height }          (CSS pixels; device scale factor 1)
//   shots       { name: spine index }      first page of that spine item
//   noteref     { index, id, noteIndex, noteId, noteSelector, backlinkSelector } or null:
//               a reference (spine index and id), its note in the Notes (turned to
//               as a reader who turns pages would) and, inside it, the backlink to
//               click back to the reference
//   popups      [{ index, id, target }]: with foliate, every note reference to tap;
//               each should pop up its note (foliate-js's FootnoteHandler), not turn
//               the page
//   chromium    the browser executable     (default /usr/bin/chromium)
//   timeoutMs   bound for one step         (default 15000)
//   deadlineMs  bound for the whole run    (default 90000)
//
// RESULT: { reader, versions, book (title, language, spine, toc as the reader
// read them), spine (per item: what was shown and what it held), shots,
// noteref, problems (console errors and warnings, page errors, failed
// requests, each with its step), fatal (why the run stopped early, or null) }.
// The result is written even when a step fails; the exit status is 0 when a
// result was written (the tests judge it), 2 on bad usage.
//
// The page and the book are served over http on 127.0.0.1 (a free port); the
// browser is stopped and the server closed on every way out, including SIGTERM.
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const here = path.dirname(fileURLToPath(import.meta.url))
const [planPath, resultPath] = process.argv.slice(2)
if (!planPath || !resultPath) {
    console.error('usage: node drive.mjs PLAN.json RESULT.json')
    process.exit(2)
}
const plan = JSON.parse(fs.readFileSync(planPath, 'utf8'))
const pages = { foliate: 'foliate.html', epubjs: 'epubjs.html' }
if (!pages[plan.reader]) {
    console.error(`unknown reader ${plan.reader}: one of ${Object.keys(pages)}`)
    process.exit(2)
}
const stepTimeout = plan.timeoutMs ?? 15000
const log = (...a) => console.error(`[${plan.reader}]`, ...a)
const version = name => JSON.parse(fs.readFileSync(
    path.join(here, 'node_modules', name, 'package.json'), 'utf8')).version

const began = Date.now()
const timings = {}
const mark = name => { timings[name] = Date.now() - began }
const result = {
    reader: plan.reader,
    versions: {
        node: process.versions.node,
        'playwright-core': version('playwright-core'),
        ...(plan.reader === 'foliate' ? { 'foliate-js': version('foliate-js') }
            : { epubjs: version('epubjs'), jszip: version('jszip') }),
    },
    browser: null,
    book: null,
    spine: [],
    shots: {},
    noteref: null,
    problems: [],
    fatal: null,
    timings,
}
let step = 'start'
const problem = (kind, text, where) =>
    result.problems.push({ step, kind, text: String(text).slice(0, 2000), ...(where ? { where } : {}) })

// ---------------------------------------------------------------- the server
// Only the reader pages, the three packages they load, and the book.
const served = new Set(['foliate.html', 'foliate.js', 'foliate-footnotes.js', 'epubjs.html', 'epubjs.js', 'common.js'])
const packages = ['node_modules/foliate-js/', 'node_modules/epubjs/dist/', 'node_modules/jszip/dist/']
const types = {
    '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
    '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
    '.json': 'application/json', '.map': 'application/json', '.epub': 'application/epub+zip',
}
const server = http.createServer((req, res) => {
    const name = decodeURIComponent(new URL(req.url, 'http://127.0.0.1').pathname).slice(1)
    let file = null
    if (name === 'favicon.ico') {
        res.writeHead(204).end()
        return
    }
    if (name === 'book.epub') file = plan.epub
    else if (served.has(name) || (packages.some(p => name.startsWith(p)) && !name.includes('..')))
        file = path.join(here, name)
    if (!file) {
        problem('server', `404 for /${name}`)
        res.writeHead(404).end()
        return
    }
    fs.readFile(file, (err, data) => {
        if (err) {
            problem('server', `404 for /${name}: ${err.code}`)
            res.writeHead(404).end()
            return
        }
        res.writeHead(200, {
            'content-type': types[path.extname(file)] ?? 'application/octet-stream',
            'cache-control': 'no-store',
        }).end(data)
    })
})
server.keepAliveTimeout = 1000
server.headersTimeout = 5000
server.requestTimeout = 10000

let browser = null
let closing = null
async function shutdown() {
    closing ??= (async () => {
        if (browser) await bounded(browser.close(), 'close the browser', 10000).catch(error => {
            log('could not close the browser:', error.message)
            browser.process?.()?.kill('SIGKILL')
        })
        server.closeAllConnections?.()
        await new Promise(resolve => server.close(() => resolve()))
    })()
    return closing
}
function writeResult() {
    fs.writeFileSync(resultPath, JSON.stringify(result, null, 2))
}
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
    process.once(signal, () => {
        result.fatal ??= `stopped by ${signal} during step ${step}`
        writeResult()
        shutdown().finally(() => process.exit(1))
    })
}
const deadline = setTimeout(() => {
    result.fatal ??= `the whole run took longer than ${plan.deadlineMs ?? 90000} ms (step ${step})`
    writeResult()
    shutdown().finally(() => process.exit(1))
}, plan.deadlineMs ?? 90000)

// A step's promise, or an error when it takes longer than the step bound.
function bounded(promise, what, ms = stepTimeout) {
    let timer
    return Promise.race([
        promise,
        new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`${what}: no answer after ${ms} ms`)), ms)
        }),
    ]).finally(() => clearTimeout(timer))
}

// ---------------------------------------------------------------- the run
async function run() {
    await new Promise((resolve, reject) => {
        server.once('error', reject)
        server.listen(0, '127.0.0.1', resolve)
    })
    const base = `http://127.0.0.1:${server.address().port}`
    log('serving on', base)

    step = 'launch'
    browser = await chromium.launch({
        executablePath: plan.chromium ?? '/usr/bin/chromium',
        headless: true,
        timeout: stepTimeout,
        args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
            '--disable-background-networking', '--disable-component-update',
            '--disable-sync', '--no-first-run', '--font-render-hinting=none',
            // Nothing leaves the machine: other hosts do not resolve.
            '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
    })
    result.browser = `Chromium ${browser.version()}`
    mark('launched')
    const context = await browser.newContext({
        viewport: plan.viewport, deviceScaleFactor: 1, colorScheme: 'light',
        locale: 'en-US', timezoneId: 'UTC', reducedMotion: 'reduce', serviceWorkers: 'block',
    })
    context.setDefaultTimeout(stepTimeout)
    const page = await context.newPage()
    page.on('console', message => {
        if (message.type() !== 'error' && message.type() !== 'warning') return
        const { url, lineNumber } = message.location()
        problem(`console ${message.type()}`, message.text(), url ? `${url}:${lineNumber}` : undefined)
    })
    page.on('pageerror', error => problem('page error', error.stack ?? error.message))
    page.on('crash', () => problem('crash', 'the page crashed'))
    // A book that asks for anything outside the test server (a remote font, say) is a problem.
    page.on('request', request => {
        const url = request.url()
        if (/^(https?|wss?|ftp):/.test(url) && !url.startsWith(base + '/'))
            problem('request', `request outside the test server: ${url}`)
    })
    page.on('requestfailed', request =>
        problem('request', `${request.url()} failed: ${request.failure()?.errorText}`))
    page.on('response', response => {
        if (response.status() >= 400) problem('request', `HTTP ${response.status()} for ${response.url()}`)
    })

    const call = (what, fn, arg) => bounded(page.evaluate(fn, arg), what)
    const shoot = async name => {
        const file = path.join(plan.out, `${plan.reader}-${name}.png`)
        await page.screenshot({ path: file, animations: 'disabled', caret: 'hide', timeout: stepTimeout })
        return file
    }
    // Wait until the reader shows spine item `index` with `selector` on the page.
    const waitShowing = (index, selector) => page.waitForFunction(
        ([i, s]) => window.reader.showing(i, s), [index, selector],
        { polling: 'raf', timeout: stepTimeout })

    step = 'open'
    await page.goto(`${base}/${pages[plan.reader]}`, { waitUntil: 'load' })
    await page.waitForFunction(() => window.readerReady === true, null, { timeout: stepTimeout })
    result.book = await call('open the book', url => window.reader.open(url), `${base}/book.epub`)
    log('opened', JSON.stringify(result.book.title))
    mark('opened')

    // Every spine item, in order, on its first page; the screenshots on the way.
    const shotAt = Object.fromEntries(Object.entries(plan.shots ?? {}).map(([k, v]) => [v, k]))
    for (const [index, href] of result.book.spine.entries()) {
        step = `spine ${index} ${href}`
        const item = { index, href }
        result.spine.push(item)
        try {
            item.shown = await call(`show ${href}`, i => window.reader.showSection(i), index)
            item.content = await call(`inspect ${href}`, () => window.reader.inspect())
            if (shotAt[index]) {
                const name = shotAt[index]
                result.shots[name] = { file: await shoot(name), shown: item.shown }
            }
        } catch (error) {
            item.error = error.message
            problem('step failed', error.message)
        }
    }
    mark('spine shown')
    for (const [name, index] of Object.entries(plan.shots ?? {}))
        if (!result.shots[name]) problem('screenshot', `no ${name} screenshot: the reader has no spine item ${index}`)

    // Tap every note reference: each should pop its note up over the page, which stays.
    if (plan.popups?.length && plan.reader === 'foliate') {
        result.popups = []
        for (const { index, id, target } of plan.popups) {
            step = `popup: ${id}`
            const tap = { index, id, target }
            result.popups.push(tap)
            try {
                await call('show the reference', ([i, r]) => window.reader.showElement(i, r), [index, id])
                const ref = await call('locate the reference', s => window.reader.locate(s), `[id="${id}"]`)
                if (!ref.visible) throw new Error(`the reference #${id} is not on the page shown`)
                const before = await call('count the pop-ups', () => window.reader.popups().length)
                await page.mouse.click(ref.x, ref.y)
                await page.waitForFunction(n => window.reader.popups().length > n, before,
                    { polling: 100, timeout: stepTimeout })
                tap.popup = await call('read the pop-up', () => window.reader.popups().at(-1))
                if (!result.shots.popup) result.shots.popup = { file: await shoot('popup'), shown: tap.popup }
                await call('close the pop-up', () => window.reader.closePopup())
                tap.after = await call('where the tap left the reader', () => window.reader.state())
            } catch (error) {
                tap.error = error.message
                problem('step failed', error.message)
            }
        }
    }

    // Turn to the note in the Notes, as a reader who turns pages would, and come back
    // by its backlink.
    if (plan.noteref) {
        const { index, id, noteIndex, noteId, noteSelector, backlinkSelector } = plan.noteref
        const refSelector = `[id="${id}"]`
        const follow = result.noteref = { ref: { index, id } }
        try {
            step = 'noteref: show the reference'
            follow.before = await call('show the reference', ([i, r]) => window.reader.showElement(i, r), [index, id])
            const ref = follow.ref.location = await call('locate the reference', s => window.reader.locate(s), refSelector)
            if (!ref.visible) throw new Error(`the reference #${id} is not on the page shown: ${JSON.stringify(ref)}`)

            step = 'noteref: turn to the note'
            await call('show the note', ([i, n]) => window.reader.showElement(i, n), [noteIndex, noteId])
            follow.landed = await waitShowing(noteIndex, noteSelector).then(() => true, () => false)
            follow.after = await call('where the reference led', () => window.reader.state())
            follow.note = await call('locate the note', s => window.reader.locate(s), noteSelector)
            result.shots.note = { file: await shoot('note'), shown: follow.after }
            if (!follow.landed) throw new Error(`turning to ${noteSelector} did not bring it into view `
                + `in ${stepTimeout} ms: the reader shows ${JSON.stringify(follow.after)}`)

            step = 'noteref: click the backlink'
            const back = follow.backlink = await call('locate the backlink', s => window.reader.locate(s), backlinkSelector)
            if (!back.visible) throw new Error(`the backlink ${backlinkSelector} is not on the page shown: ${JSON.stringify(back)}`)
            await page.mouse.click(back.x, back.y)
            follow.returned = await waitShowing(index, refSelector).then(() => true, () => false)
            follow.home = await call('where the backlink led', () => window.reader.state())
            follow.refAgain = await call('locate the reference again', s => window.reader.locate(s), refSelector)
            result.shots.backlink = { file: await shoot('backlink'), shown: follow.home }
            if (!follow.returned) throw new Error(`clicking the backlink did not bring #${id} back into view `
                + `in ${stepTimeout} ms: the reader shows ${JSON.stringify(follow.home)}`)
        } catch (error) {
            follow.error = error.message
            problem('step failed', error.message)
        }
    }

    mark('notes followed')
    step = 'close'
    for (const error of await call('collect page errors', () => window.readerErrors))
        problem('page error', error)
    await context.close()
}

try {
    await run()
} catch (error) {
    result.fatal ??= `${step}: ${error.stack ?? error.message}`
    log('fatal:', result.fatal)
} finally {
    clearTimeout(deadline)
    await shutdown()
    mark('closed')
    writeResult()
}
process.exit(0)
