// Drives `protocol-press preview` in Chromium for tests/test_preview.py:
// open the page, change the manuscript, see the page reload with the change;
// then break the manuscript, see the diagnostic over the last good text.
//
//   node preview.mjs URL CHAPTER_FILE CHROMIUM
// Prints one JSON object on stdout.
import { readFileSync, writeFileSync } from 'node:fs'
import { chromium } from 'playwright-core'

const [url, chapter, executablePath] = process.argv.slice(2)
const CHANGE = 'This sentence arrived by live reload.'
const result = { steps: [] }
const browser = await chromium.launch({
  executablePath,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
})
try {
  const page = await browser.newPage()
  await page.goto(url, { timeout: 15000 })
  await page.waitForSelector('h1', { timeout: 15000 })
  result.steps.push({ step: 'opened', title: await page.title() })

  const text = readFileSync(chapter, 'utf8')
  const changed = `${text}\n${CHANGE}\n`
  await page.waitForTimeout(300) // let the event stream connect before the first edit
  writeFileSync(chapter, changed)
  await page.waitForFunction(t => document.body.innerText.includes(t), CHANGE, { timeout: 20000 })
  result.steps.push({ step: 'reloaded', shows_change: true })

  writeFileSync(chapter, changed + '\nA reference to a note that is missing.[^nowhere]\n')
  await page.waitForSelector('#pp-problems:not([hidden])', { timeout: 20000 })
  result.steps.push({
    step: 'broken',
    problems: await page.locator('#pp-problems').innerText(),
    still_shows_last_good: (await page.locator('body').innerText()).includes(CHANGE),
  })

  writeFileSync(chapter, text)
  await page.waitForFunction(t => !document.body.innerText.includes(t), CHANGE, { timeout: 20000 })
  result.steps.push({ step: 'mended', problems_hidden: await page.locator('#pp-problems').isHidden() })
} catch (error) {
  result.error = String(error)
} finally {
  await browser.close()
  console.log(JSON.stringify(result))
}
