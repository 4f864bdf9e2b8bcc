// The foliate-js reader page: a <foliate-view> filling the window, paginated,
// with the styles Foliate's own reader (foliate-js/reader.js) puts on books.
import './node_modules/foliate-js/view.js'
import { installErrorTraps, inspect, locate, settled, visibleIds } from './common.js'
import { installFootnotes } from './foliate-footnotes.js'

installErrorTraps()

// As foliate-js/reader.js injects them: what a Foliate user sees.
const readerCSS = `
    @namespace epub "http://www.idpf.org/2007/ops";
    html { color-scheme: light; }
    p, li, blockquote, dd {
        line-height: 1.4;
        text-align: justify;
        -webkit-hyphens: auto;
        hyphens: auto;
        -webkit-hyphenate-limit-before: 3;
        -webkit-hyphenate-limit-after: 2;
        -webkit-hyphenate-limit-lines: 2;
        hanging-punctuation: allow-end last;
        widows: 2;
    }
    [align="left"] { text-align: left; }
    [align="right"] { text-align: right; }
    [align="center"] { text-align: center; }
    [align="justify"] { text-align: justify; }
    pre { white-space: pre-wrap !important; }
    aside[epub|type~="endnote"], aside[epub|type~="footnote"],
    aside[epub|type~="note"], aside[epub|type~="rearnote"] { display: none; }
`

const view = document.createElement('foliate-view')
document.body.append(view)
const footnotes = installFootnotes(view, readerCSS)

// Metadata values may be strings or language maps ({ en: "…" }), or objects with a name.
const text = x => x == null ? null : typeof x === 'string' ? x
    : Array.isArray(x) ? text(x[0]) : x.name ? text(x.name) : text(Object.values(x)[0])
const tree = items => (items ?? []).map(item => ({
    label: item.label ?? null, href: item.href ?? null, children: tree(item.subitems),
}))

const current = () => view.renderer?.getContents()?.[0]

window.reader = {
    name: 'foliate-js',
    async open(url) {
        await view.open(url)
        view.renderer.setAttribute('flow', 'paginated')
        view.renderer.setStyles?.(readerCSS)
        const { book } = view
        return {
            title: text(book.metadata?.title),
            language: [book.metadata?.language].flat().filter(Boolean),
            authors: [book.metadata?.author].flat().filter(Boolean).map(text),
            // section ids are the documents' paths in the zip
            spine: book.sections.map(s => s.id),
            toc: tree(book.toc),
            landmarks: (book.landmarks ?? []).map(l => ({ type: l.type, href: l.href })),
        }
    },
    // Show the first page of spine item `index`.
    async showSection(index) {
        await view.goTo(index)
        return this.state()
    },
    // Show the page holding the element with this id in spine item `index`.
    async showElement(index, id) {
        await view.renderer.goTo({ index, anchor: doc => doc.getElementById(id) })
        return this.state()
    },
    async state() {
        const contents = current()
        await settled(contents?.doc)
        return {
            index: contents?.index ?? null,
            href: contents ? view.book.sections[contents.index]?.id : null,
            visibleIds: visibleIds(contents?.doc, view),
        }
    },
    inspect: () => inspect(current()?.doc),
    // Is spine item `index` shown, with the element matching `selector` on the page?
    showing(index, selector) {
        const contents = current()
        return contents?.index === index && locate(contents.doc, selector, view).visible
    },
    locate: selector => locate(current()?.doc, selector, view),
    // The pop-up notes shown so far (foliate-footnotes.js), and closing the open one.
    popups: () => footnotes.popups(),
    closePopup: () => footnotes.close(),
}
window.readerReady = true
