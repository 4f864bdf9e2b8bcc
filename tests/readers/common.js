// What both reader pages share: where an element of the book is on screen, and
// what a loaded book document looks like. Loaded as an ES module by foliate.js
// and epubjs.js; each of them sets window.reader to the same small API, which
// drive.mjs calls (see the comment at the top of drive.mjs).

// Two animation frames after the fonts of the document (and of the page) are
// ready: the layout the reader shows has been painted.
export async function settled(doc) {
    const fonts = [document.fonts?.ready]
    if (doc?.fonts) fonts.push(doc.fonts.ready)
    await Promise.all(fonts)
    const win = doc?.defaultView ?? window
    for (let i = 0; i < 2; i++) await new Promise(r => win.requestAnimationFrame(() => r()))
}

// The rectangle of the page (main viewport coordinates) the reader shows the
// book in: the reader's element, cut to the window.
export function visibleArea(host) {
    const r = host.getBoundingClientRect()
    return {
        left: Math.max(r.left, 0), top: Math.max(r.top, 0),
        right: Math.min(r.right, innerWidth), bottom: Math.min(r.bottom, innerHeight),
    }
}

// Where the first element matching the CSS selector starts, in main viewport
// coordinates: the middle of its first line box (an element may be split across
// columns), and whether that point is on the page the reader shows.
export function locate(doc, selector, host) {
    const el = doc?.querySelector(selector)
    return el ? where(el, host) : { found: false, visible: false }
}

function where(el, host) {
    const doc = el.ownerDocument
    const frame = doc.defaultView.frameElement
    const f = frame.getBoundingClientRect()
    const first = [...el.getClientRects()].find(r => r.width > 0 && r.height > 0)
        ?? el.getBoundingClientRect()
    const x = f.left + first.left + first.width / 2
    const y = f.top + first.top + first.height / 2
    const area = visibleArea(host)
    const visible = first.width > 0 && first.height > 0
        && x >= area.left && x <= area.right && y >= area.top && y <= area.bottom
    return {
        found: true, visible, x, y,
        tag: el.localName, text: el.textContent.replace(/\s+/g, ' ').trim().slice(0, 120),
    }
}

// The ids of elements whose first line box is on the page shown (for reports).
export function visibleIds(doc, host) {
    if (!doc) return []
    return [...doc.querySelectorAll('[id]')]
        .filter(el => where(el, host).visible).map(el => el.id)
}

// What the reader loaded for one spine item: did it parse, is there anything
// in it, did its images load.
export function inspect(doc) {
    if (!doc) return { loaded: false }
    const parseErrors = [...doc.getElementsByTagName('parsererror')]
        .map(e => e.textContent.replace(/\s+/g, ' ').trim().slice(0, 300))
    const body = doc.body
    const text = (body?.textContent ?? '').replace(/\s+/g, ' ').trim()
    const images = [...doc.querySelectorAll('img, image')]
    const brokenImages = [...doc.querySelectorAll('img')]
        .filter(img => !img.complete || img.naturalWidth === 0)
        .map(img => img.getAttribute('src'))
    return {
        loaded: !!body,
        contentType: doc.contentType,
        lang: doc.documentElement.getAttribute('lang') ?? doc.documentElement.getAttribute('xml:lang'),
        parseErrors,
        textLength: text.length,
        images: images.length,
        brokenImages,
        firstText: text.slice(0, 120),
    }
}

// Hrefs as paths from the root of the EPUB's zip: "EPUB/notes.xhtml#n1".
export function rootPath(href, base) {
    const url = new URL(href, 'http://book.invalid/' + base.replace(/^\/+/, ''))
    return decodeURIComponent(url.pathname.replace(/^\/+/, '')) + url.hash
}

export function installErrorTraps() {
    window.readerErrors = []
    addEventListener('error', e => window.readerErrors.push(`error: ${e.message}`))
    addEventListener('unhandledrejection', e =>
        window.readerErrors.push(`unhandled rejection: ${e.reason?.stack ?? e.reason}`))
}
