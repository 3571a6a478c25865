// The CA web console in headless Chromium, as a CA operator uses it. Started
// by test_console.sh, which runs mkeyd, creates the operator and the
// application, and passes everything in the environment:
//   MKEY_URL          mkeyd's base URL
//   CONSOLE_USER      the CA operator's username
//   CONSOLE_PASSWORD  and password
//   APP_ID            an application of the operator's CA awaiting review
//   APPLICANT_NAME    the applicant's verified name
//   CHROMIUM          the browser (Debian's chromium)
//   ARTIFACTS         where a failing step leaves a screenshot (optional)
// Usage: node test_console.mjs reject | approve
//   reject   login (a wrong password first), queue, detail with the
//            attachment image, CSRF refusal, HttpOnly cookie, rejection
//            with a reason, reload keeps the session
//   approve  (after the applicant resubmitted) login, detail with the
//            history, approval, a second tab takes its own CSRF token,
//            logout from the first tab
// Prints "ok   - …" / "FAIL - …" per check; exits non-zero on the first
// failure (later steps depend on earlier ones).
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';

const env = (name) => {
  const v = process.env[name];
  if (!v) {
    console.log(`FAIL - environment variable ${name} is not set (run through test_console.sh)`);
    process.exit(1);
  }
  return v;
};

const phase = process.argv[2];
if (phase !== 'reject' && phase !== 'approve') {
  console.log('FAIL - usage: node test_console.mjs reject|approve');
  process.exit(1);
}
const base = env('MKEY_URL').replace(/\/$/, '');
const user = env('CONSOLE_USER');
const password = env('CONSOLE_PASSWORD');
const appId = env('APP_ID');
const applicantName = env('APPLICANT_NAME');
const chromiumPath = env('CHROMIUM');
const artifacts = process.env.ARTIFACTS || '';

let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (err) {
  console.log('FAIL - playwright-core is not installed in tests/browser (scripts/deps.sh runs npm ci there): ' + err.message);
  process.exit(1);
}

let passed = 0;
let browser = null;
let currentPage = null;

// A whole phase may take this long; a hang is a failure, not a stuck ctest.
const deadline = setTimeout(() => {
  console.log(`FAIL - the ${phase} phase did not finish within 180 s`);
  process.exit(1);
}, 180_000);

async function step(what, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok   - ${what}`);
  } catch (err) {
    console.log(`FAIL - ${what}: ${err && err.message ? err.message.split('\n').slice(0, 6).join(' | ') : err}`);
    if (artifacts && currentPage) {
      try {
        mkdirSync(artifacts, { recursive: true });
        const file = join(artifacts, `console-${phase}-failed.png`);
        await currentPage.screenshot({ path: file, fullPage: true });
        console.log(`# screenshot: ${file}`);
      } catch (_) { /* the failure above is what matters */ }
    }
    console.log(`${passed} passed, 1 failed`);
    if (browser) await browser.close().catch(() => {});
    process.exit(1);
  }
}

// fetch() from inside the page: same origin, the page's cookie.
async function pageFetch(page, method, path, headers) {
  return page.evaluate(async ({ method, path, headers }) => {
    const init = { method, headers: headers || {}, credentials: 'same-origin' };
    if (method === 'POST') {
      init.headers['Content-Type'] = 'application/json';
      init.body = '{}';
    }
    const r = await fetch(path, init);
    let body = null;
    try { body = await r.json(); } catch (_) { body = null; }
    return { status: r.status, body };
  }, { method, path, headers });
}

async function appState(page) {
  const r = await pageFetch(page, 'GET', `/v1/ca/applications/${appId}`);
  assert.equal(r.status, 200, `GET the application: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

async function openConsole(context) {
  const page = await context.newPage();
  currentPage = page;
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (err) => console.log(`# page error: ${err.message}`));
  page.on('console', (m) => {
    // the refusals this test provokes are logged by Chromium as failed loads
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) console.log(`# console: ${m.text()}`);
  });
  const res = await page.goto(`${base}/console/`);
  assert.equal(res.status(), 200);
  await page.waitForSelector('body[data-ready="1"]');
  return page;
}

async function loginThroughForm(page) {
  await page.waitForSelector('#login-view', { state: 'visible' });
  await page.fill('#login-username', user);
  await page.fill('#login-password', password);
  await page.click('#login-submit');
  await page.waitForSelector('#queue-view', { state: 'visible' });
  await page.waitForFunction((u) => document.getElementById('whoami-user').textContent === u, user);
}

async function queueRow(page, state) {
  await page.selectOption('#state-filter', state);
  await page.waitForFunction((s) => location.hash === `#/queue?state=${s}`, state);
  return page.waitForSelector(`#queue-table tbody tr[data-id="${appId}"]`);
}

async function openDetail(page) {
  await page.click(`#queue-table tbody tr[data-id="${appId}"] button.open`);
  await page.waitForSelector('#detail-view', { state: 'visible' });
  await page.waitForFunction((id) => document.getElementById('detail-title').textContent.includes(id), appId);
}

async function imageShown(page) {
  const img = await page.waitForSelector('#attachments img');
  await page.waitForFunction(() => {
    const i = document.querySelector('#attachments img');
    return i && i.complete && i.naturalWidth > 0;
  });
  const src = await img.getAttribute('src');
  assert.ok(src.startsWith('blob:'), `image src is ${src}`);
  return page.evaluate(() => {
    const i = document.querySelector('#attachments img');
    return { w: i.naturalWidth, h: i.naturalHeight };
  });
}

// Small /dev/shm in containers must not crash the renderer.
const launchArgs = ['--disable-dev-shm-usage'];
if (typeof process.getuid === 'function' && process.getuid() === 0) launchArgs.push('--no-sandbox');
try {
  browser = await chromium.launch({ executablePath: chromiumPath, args: launchArgs, headless: true });
} catch (err) {
  console.log(`FAIL - cannot start ${chromiumPath} in headless mode: ${err.message.split('\n')[0]}`);
  process.exit(1);
}
const context = await browser.newContext({ locale: 'zh-CN' });

if (phase === 'reject') {
  let page;
  await step('the console page loads and shows 登录', async () => {
    page = await openConsole(context);
    await page.waitForSelector('#login-view', { state: 'visible' });
    assert.equal((await page.textContent('#login-view h2')).trim(), '登录');
    assert.equal(await page.title(), 'mkey CA 审核控制台');
  });

  await step('a wrong password is refused with a generic message', async () => {
    await page.fill('#login-username', user);
    await page.fill('#login-password', 'not the password 1');
    await page.click('#login-submit');
    await page.waitForSelector('#notice', { state: 'visible' });
    assert.equal(await page.textContent('#notice'), '用户名或密码错误。');
    assert.ok(await page.isVisible('#login-view'));
  });

  await step('logging in through the form opens the queue', async () => {
    await loginThroughForm(page);
    assert.equal((await page.textContent('#queue-title')).trim(), '待审核');
  });

  await step('the session cookie is HttpOnly and SameSite=Strict: document.cookie does not show it', async () => {
    const visible = await page.evaluate(() => document.cookie);
    assert.ok(!visible.includes('mkey_console'), `document.cookie = ${visible}`);
    const cookies = await context.cookies(base);
    const c = cookies.find((x) => x.name === 'mkey_console');
    assert.ok(c, 'the browser keeps the mkey_console cookie');
    assert.equal(c.httpOnly, true);
    assert.equal(c.sameSite, 'Strict');
    assert.equal(c.path, '/');
    assert.ok(c.value.length >= 43);
  });

  await step('the page keeps the CSRF token in sessionStorage', async () => {
    const t = await page.evaluate(() => sessionStorage.getItem('mkey.console.csrf'));
    assert.ok(t && t.length >= 43, `token ${t}`);
  });

  await step('the application awaiting review is in the queue as 待审核', async () => {
    const row = await page.waitForSelector(`#queue-table tbody tr[data-id="${appId}"]`);
    assert.equal(await row.$eval('.state', (s) => s.dataset.state), 'awaiting_ca');
    assert.equal(await row.$eval('.state', (s) => s.textContent), '待审核');
    assert.ok((await row.textContent()).includes(applicantName));
  });

  await step('a POST with the cookie but without X-CSRF-Token is refused (403) and changes nothing', async () => {
    const r = await pageFetch(page, 'POST', `/v1/ca/applications/${appId}/approval`);
    assert.equal(r.status, 403, JSON.stringify(r.body));
    assert.equal(r.body.type, '/problems/forbidden');
    const wrong = await pageFetch(page, 'POST', `/v1/ca/applications/${appId}/approval`,
      { 'X-CSRF-Token': 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
    assert.equal(wrong.status, 403, JSON.stringify(wrong.body));
    assert.equal((await appState(page)).state, 'awaiting_ca');
  });

  await step('申请详情 shows the applicant and the application', async () => {
    await openDetail(page);
    const fields = await page.textContent('#detail-fields');
    assert.ok(fields.includes(applicantName), fields);
    assert.ok(fields.includes('待审核'), fields);
    assert.ok(await page.isVisible('#approve'));
    assert.ok(await page.isVisible('#reject'));
  });

  await step('the attachment image is fetched and rendered from a blob: URL (naturalWidth > 0)', async () => {
    const { w, h } = await imageShown(page);
    assert.ok(w > 0 && h > 0, `${w}x${h}`);
  });

  await step('驳回 without a reason asks for 驳回原因 and changes nothing', async () => {
    await page.fill('#reject-reason', '   ');
    await page.click('#reject');
    await page.waitForFunction(() => document.getElementById('notice').textContent === '请填写驳回原因。');
    assert.equal((await appState(page)).state, 'awaiting_ca');
  });

  const reason = '申请表未加盖公章，请重新上传';
  await step('驳回 with a reason goes back to the queue, which no longer lists it', async () => {
    await page.fill('#reject-reason', reason);
    await page.click('#reject');
    await page.waitForSelector('#queue-view', { state: 'visible' });
    await page.waitForFunction((id) => document.getElementById('notice').textContent.includes('已驳回申请 ' + id), appId);
    await page.waitForFunction(() => location.hash === '#/queue?state=awaiting_ca');
    await page.waitForFunction((id) => !document.querySelector(`#queue-table tbody tr[data-id="${id}"]`), appId);
  });

  await step('the application is ca_rejected with the reason in its history', async () => {
    const a = await appState(page);
    assert.equal(a.state, 'ca_rejected');
    assert.ok(JSON.stringify(a.history).includes(reason), JSON.stringify(a.history));
  });

  await step('the 已驳回 filter lists it', async () => {
    const row = await queueRow(page, 'ca_rejected');
    assert.equal(await row.$eval('.state', (s) => s.textContent), '已驳回');
  });

  await step('a reload keeps the session and the CSRF token', async () => {
    const before = await page.evaluate(() => sessionStorage.getItem('mkey.console.csrf'));
    await page.reload();
    await page.waitForSelector('body[data-ready="1"]');
    await page.waitForSelector('#queue-view', { state: 'visible' });
    assert.ok(!(await page.isVisible('#login-view')));
    assert.equal(await page.evaluate(() => sessionStorage.getItem('mkey.console.csrf')), before);
  });
} else {
  let page;
  await step('logging in through the form opens the queue', async () => {
    page = await openConsole(context);
    await loginThroughForm(page);
  });

  await step('the resubmitted application is back in the queue as 待审核', async () => {
    const row = await page.waitForSelector(`#queue-table tbody tr[data-id="${appId}"]`);
    assert.equal(await row.$eval('.state', (s) => s.dataset.state), 'awaiting_ca');
  });

  await step('申请详情 shows the earlier rejection in its history, and the new attachment', async () => {
    await openDetail(page);
    const history = await page.textContent('#history');
    assert.ok(history.includes('驳回'), history);
    assert.ok(history.includes('原因'), history);
    const { w } = await imageShown(page);
    assert.ok(w > 0);
  });

  await step('通过 approves it and goes back to the queue', async () => {
    await page.click('#approve');
    await page.waitForSelector('#queue-view', { state: 'visible' });
    await page.waitForFunction((id) => document.getElementById('notice').textContent.includes('已通过申请 ' + id), appId);
  });

  await step('the application is now awaiting_payment, listed under 待支付', async () => {
    assert.equal((await appState(page)).state, 'awaiting_payment');
    const row = await queueRow(page, 'awaiting_payment');
    assert.equal(await row.$eval('.state', (s) => s.textContent), '待支付');
  });

  let second;
  await step('a second tab is logged in by the cookie and takes a CSRF token of its own', async () => {
    const first = await page.evaluate(() => sessionStorage.getItem('mkey.console.csrf'));
    second = await openConsole(context);
    await second.waitForSelector('#queue-view', { state: 'visible' });
    const own = await second.evaluate(() => sessionStorage.getItem('mkey.console.csrf'));
    assert.ok(own && own !== first, 'a new token');
    // the first tab's token was replaced: the server refuses it now
    const r = await pageFetch(page, 'DELETE', '/v1/console/session', { 'X-CSRF-Token': first });
    assert.equal(r.status, 403, JSON.stringify(r.body));
    currentPage = page;
  });

  await step('退出登录 in the first tab ends the session and clears the cookie', async () => {
    await page.click('#logout');
    await page.waitForSelector('#login-view', { state: 'visible' });
    await page.waitForFunction(() => document.getElementById('notice').textContent === '已退出登录。');
    const c = (await context.cookies(base)).find((x) => x.name === 'mkey_console');
    assert.ok(!c, `cookie left: ${JSON.stringify(c)}`);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('mkey.console.csrf')), null);
    const r = await pageFetch(page, 'GET', '/v1/console/session');
    assert.equal(r.status, 401);
  });

  await step('the second tab is logged out too: a reload shows 登录', async () => {
    currentPage = second;
    await second.reload();
    await second.waitForSelector('body[data-ready="1"]');
    await second.waitForSelector('#login-view', { state: 'visible' });
  });
}

clearTimeout(deadline);
await browser.close();
console.log(`${passed} passed, 0 failed`);
