// mkey CA console (docs/console.md). No framework and no outside URL: the
// page talks to mkeyd's /v1/console/session and /v1/ca/* routes. The
// session cookie is HttpOnly (this script never sees it); the CSRF token
// that every change carries is kept in sessionStorage, per tab.
'use strict';

(function () {
  const CSRF_KEY = 'mkey.console.csrf';

  const STATES = {
    awaiting_admin: '待管理员同意',
    admin_rejected: '管理员已拒绝',
    awaiting_ca: '待审核',
    ca_rejected: '已驳回',
    awaiting_payment: '待支付',
    paid: '已支付',
    issued: '已签发',
    cancelled: '已撤销',
    // passed through, kept in the history
    submitted: '已提交',
    admin_approved: '管理员已同意',
    ca_approved: 'CA 审核通过',
    resubmitted: '已重新提交',
  };
  const EVENTS = {
    submit: '提交申请',
    admin_approve: '管理员同意',
    admin_reject: '管理员拒绝',
    ca_approve: 'CA 审核通过',
    ca_reject: 'CA 驳回',
    resubmit: '重新提交',
    cancel: '撤销申请',
    forward_to_admin: '转企业管理员',
    forward_to_ca: '提交 CA 审核',
    auto_approve: '自动审核通过',
    request_payment: '等待支付',
    pay: '支付',
    issue: '签发',
  };
  // Keys of an application's data, as the forms name them.
  const DATA_KEYS = {
    name: '姓名',
    id_number: '身份证号',
    phone: '手机号',
    enterprise: '企业名称',
    enterprise_name: '企业名称',
    uscc: '统一社会信用代码',
    legal_name: '法定代表人',
    legal_id: '法定代表人身份证号',
    legal_id_number: '法定代表人身份证号',
    admin_name: '管理员姓名',
    admin_phone: '管理员手机号',
    permissions: '授权权限',
  };
  const STATUS_TEXT = {
    400: '请求无效',
    401: '未登录或登录已过期',
    403: '没有权限',
    404: '未找到',
    409: '申请状态已变化',
    413: '内容过大',
    415: '请求格式错误',
    422: '输入有误',
    429: '请求过于频繁',
  };

  const $ = (id) => document.getElementById(id);
  const view = { login: $('login-view'), queue: $('queue-view'), detail: $('detail-view') };

  let me = null; // {username, ca_id, ca_name}
  let casById = {}; // from GET /v1/cas: names and attachment names
  const platformNames = {}; // platform id → name, from GET /v1/platforms/{id}
  let blobUrls = [];
  let queueCursor = null;
  let lastState = 'awaiting_ca'; // the queue's filter, for 返回列表

  // ---- HTTP ----

  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && problem.detail) || (problem && problem.title) || 'HTTP ' + status);
      this.status = status;
      this.problem = problem || {};
    }
  }

  function csrf() {
    return sessionStorage.getItem(CSRF_KEY);
  }

  async function request(method, path, body, raw) {
    const headers = { Accept: raw ? '*/*' : 'application/json' };
    if (method !== 'GET' && method !== 'HEAD') {
      const t = csrf();
      if (t) headers['X-CSRF-Token'] = t;
    }
    const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init);
    if (!res.ok) {
      let problem = null;
      const ct = res.headers.get('Content-Type') || '';
      if (ct.includes('json')) {
        try { problem = await res.json(); } catch (_) { problem = null; }
      }
      throw new ApiError(res.status, problem);
    }
    if (raw) return res.blob();
    if (res.status === 204) return null;
    return res.json();
  }

  // A change refused with 403 may carry a CSRF token another tab replaced:
  // take a fresh one for this tab and try once more.
  async function api(method, path, body) {
    try {
      return await request(method, path, body);
    } catch (err) {
      if (err instanceof ApiError && err.status === 403 && method !== 'GET') {
        await renewCsrf();
        return request(method, path, body);
      }
      throw err;
    }
  }

  async function renewCsrf() {
    const r = await request('POST', '/v1/console/session/csrf-token');
    sessionStorage.setItem(CSRF_KEY, r.csrf_token);
  }

  // ---- messages ----

  function describe(err) {
    if (!(err instanceof ApiError)) return '无法连接服务器：' + (err && err.message ? err.message : err);
    const head = STATUS_TEXT[err.status] || (err.status >= 500 ? '服务器错误' : '操作失败');
    let text = head + '（' + err.status + '）：' + err.message;
    const errors = Array.isArray(err.problem.errors) ? err.problem.errors : [];
    for (const f of errors) {
      if (f && f.field && f.detail && f.detail !== err.message) text += '；' + f.field + '：' + f.detail;
    }
    if (err.problem.request_id) text += '（请求编号 ' + err.problem.request_id + '）';
    return text;
  }

  function notify(text, ok) {
    const n = $('notice');
    n.textContent = text;
    n.classList.toggle('ok', !!ok);
    n.hidden = false;
  }

  function clearNotice() {
    $('notice').hidden = true;
    $('notice').textContent = '';
  }

  // An error of any step: a lost session goes back to the login form.
  function fail(err) {
    if (err instanceof ApiError && err.status === 401) {
      loggedOut();
      notify(describe(err));
      return;
    }
    notify(describe(err));
  }

  // ---- formatting ----

  function text(v) {
    return v === null || v === undefined || v === '' ? '—' : String(v);
  }

  function when(iso) {
    if (!iso) return '—';
    const d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    const p = (n) => String(n).padStart(2, '0');
    return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + ' ' +
      p(d.getHours()) + ':' + p(d.getMinutes());
  }

  function stateLabel(s) {
    const span = document.createElement('span');
    span.className = 'state ' + (s || '');
    span.dataset.state = s || '';
    span.textContent = STATES[s] || text(s);
    return span;
  }

  function cell(row, content, cls) {
    const td = document.createElement('td');
    if (content instanceof Node) td.appendChild(content);
    else td.textContent = text(content);
    if (cls) td.className = cls;
    row.appendChild(td);
    return td;
  }

  function field(dl, name, value) {
    const dt = document.createElement('dt');
    dt.textContent = name;
    const dd = document.createElement('dd');
    if (value instanceof Node) dd.appendChild(value);
    else dd.textContent = text(value);
    dl.append(dt, dd);
  }

  function attachmentName(caId, role) {
    const ca = casById[caId];
    const a = ca && Array.isArray(ca.attachments) ? ca.attachments.find((x) => x.id === role) : null;
    return a ? a.name : role;
  }

  // ---- views ----

  function show(name) {
    for (const k of Object.keys(view)) view[k].hidden = k !== name;
    if (name !== 'detail') dropBlobs();
  }

  function dropBlobs() {
    for (const u of blobUrls) URL.revokeObjectURL(u);
    blobUrls = [];
  }

  function loggedOut() {
    me = null;
    sessionStorage.removeItem(CSRF_KEY);
    $('whoami').hidden = true;
    $('login-password').value = '';
    show('login');
    $('login-username').focus();
  }

  function loggedIn(who) {
    me = who;
    $('whoami-user').textContent = who.username;
    $('whoami-ca').textContent = (casById[who.ca_id] && casById[who.ca_id].name) || who.ca_name || who.ca_id;
    $('whoami').hidden = false;
    if (view.queue.hidden && view.detail.hidden) show('queue');
  }

  async function loadCas() {
    try {
      const r = await request('GET', '/v1/cas');
      casById = {};
      for (const ca of r.items || []) casById[ca.id] = ca;
    } catch (_) {
      casById = {}; // names fall back to ids
    }
  }

  // ---- queue ----

  function queueState() {
    const m = /^#\/queue(?:\?state=([a-z_]*))?$/.exec(location.hash);
    return m ? decodeURIComponent(m[1] || '') : 'awaiting_ca';
  }

  async function showQueue(state, more) {
    lastState = state;
    $('state-filter').value = state;
    $('queue-title').textContent = state ? STATES[state] || state : '全部申请';
    show('queue');
    if (!more) queueCursor = null;
    const q = new URLSearchParams();
    if (state) q.set('state', state);
    if (more && queueCursor) q.set('cursor', queueCursor);
    const qs = q.toString();
    const r = await api('GET', '/v1/ca/applications' + (qs ? '?' + qs : ''));
    const items = Array.isArray(r) ? r : r.items || [];
    queueCursor = Array.isArray(r) ? null : r.next_cursor || null;
    const tbody = $('queue-table').tBodies[0];
    if (!more) tbody.replaceChildren();
    for (const a of items) {
      const tr = document.createElement('tr');
      tr.dataset.id = a.id;
      cell(tr, a.id, 'mono');
      cell(tr, a.title || a.kind);
      cell(tr, a.applicant ? a.applicant.name : null);
      cell(tr, a.enterprise ? a.enterprise.name : null);
      cell(tr, a.years ? a.years + ' 年' : null);
      cell(tr, stateLabel(a.state));
      cell(tr, when(a.updated_at || a.created_at));
      const open = document.createElement('button');
      open.type = 'button';
      open.className = 'open';
      open.textContent = '查看';
      open.addEventListener('click', () => { location.hash = '#/applications/' + encodeURIComponent(a.id); });
      cell(tr, open);
      tbody.appendChild(tr);
    }
    $('queue-empty').hidden = tbody.rows.length > 0;
    $('queue-more').hidden = !queueCursor;
  }

  // ---- detail ----

  let current = null; // the application shown

  function actorLabel(a, actor) {
    if (!actor) return '';
    if (a.applicant && actor === a.applicant.account_id) return '申请人';
    if (actor === 'system') return '系统';
    if (actor.startsWith('cop_')) return 'CA 审核员 ' + actor;
    if (actor.startsWith('acc_')) return '企业管理员';
    return actor;
  }

  // The platform's name for its id; the id when it cannot be had.
  async function platformName(id) {
    if (!id) return null;
    if (platformNames[id]) return platformNames[id];
    try {
      const p = await request('GET', '/v1/platforms/' + encodeURIComponent(id));
      platformNames[id] = p.name ? p.name + '（' + id + '）' : id;
    } catch (_) {
      return id;
    }
    return platformNames[id];
  }

  async function showDetail(id) {
    const a = await api('GET', '/v1/ca/applications/' + encodeURIComponent(id));
    const platform = await platformName(a.platform_id);
    current = a;
    dropBlobs();
    $('detail-title').textContent = (a.title || a.kind || '申请') + ' · ' + a.id;
    const dl = $('detail-fields');
    dl.replaceChildren();
    field(dl, '状态', stateLabel(a.state));
    field(dl, '申请类型', a.title || a.kind);
    const ap = a.applicant || {};
    field(dl, '申请人', ap.name);
    field(dl, '手机号', ap.phone);
    if (ap.id_number) field(dl, '身份证号', ap.id_number);
    if (a.enterprise) {
      field(dl, '企业名称', a.enterprise.name);
      field(dl, '统一社会信用代码', a.enterprise.uscc);
    }
    field(dl, 'CA', (casById[a.ca_id] && casById[a.ca_id].name) || a.ca_id);
    field(dl, '交易平台', platform);
    field(dl, '有效期', a.years ? a.years + ' 年' : null);
    if (a.data && typeof a.data === 'object') {
      for (const [k, v] of Object.entries(a.data)) {
        if (v === null || typeof v === 'object') continue;
        field(dl, DATA_KEYS[k] || k, v);
      }
    }
    field(dl, '提交时间', when(a.created_at));
    field(dl, '更新时间', when(a.updated_at));

    const hist = $('history');
    hist.replaceChildren();
    for (const h of a.history || []) {
      const li = document.createElement('li');
      const from = h.from ? (STATES[h.from] || h.from) + ' ' : '';
      const to = h.to ? '→ ' + (STATES[h.to] || h.to) : '';
      const who = actorLabel(a, h.actor);
      li.textContent = when(h.at) + ' ' + (EVENTS[h.event] || h.event) +
        (from || to ? '：' + from + to : '') + (who ? '（' + who + '）' : '');
      if (h.reason) {
        const r = document.createElement('span');
        r.className = 'reason';
        r.textContent = ' 原因：' + h.reason;
        li.appendChild(r);
      }
      hist.appendChild(li);
    }

    $('decision').hidden = a.state !== 'awaiting_ca';
    $('reject-reason').value = '';
    show('detail');

    const box = $('attachments');
    box.replaceChildren();
    const atts = a.attachments || [];
    if (atts.length === 0) {
      const p = document.createElement('p');
      p.className = 'empty';
      p.textContent = '没有附件。';
      box.appendChild(p);
    }
    // Each image is fetched with the session and shown from a blob: URL,
    // so it never needs its own address the page could leak.
    await Promise.all(atts.map(async (att) => {
      const fig = document.createElement('figure');
      const cap = document.createElement('figcaption');
      cap.textContent = attachmentName(a.ca_id, att.role) + (att.size ? '（' + Math.ceil(att.size / 1024) + ' KB）' : '');
      fig.appendChild(cap);
      box.appendChild(fig);
      try {
        const blob = await request('GET', '/v1/ca/applications/' + encodeURIComponent(a.id) +
          '/attachments/' + encodeURIComponent(att.id), undefined, true);
        if (current !== a) return;
        const url = URL.createObjectURL(blob);
        blobUrls.push(url);
        const img = document.createElement('img');
        img.alt = attachmentName(a.ca_id, att.role);
        img.dataset.attachment = att.id;
        img.src = url;
        fig.insertBefore(img, cap);
      } catch (err) {
        cap.textContent += ' 加载失败：' + describe(err);
      }
    }));
  }

  async function decide(kind) {
    if (!current) return;
    const id = current.id;
    let body;
    if (kind === 'rejection') {
      const reason = $('reject-reason').value.trim();
      if (!reason) {
        notify('请填写驳回原因。');
        $('reject-reason').focus();
        return;
      }
      body = { reason };
    }
    $('approve').disabled = $('reject').disabled = true;
    try {
      await api('POST', '/v1/ca/applications/' + encodeURIComponent(id) + '/' + kind, body);
      notify((kind === 'approval' ? '已通过申请 ' : '已驳回申请 ') + id, true);
      location.hash = '#/queue?state=awaiting_ca';
    } catch (err) {
      fail(err);
    } finally {
      $('approve').disabled = $('reject').disabled = false;
    }
  }

  // ---- routing ----

  async function route() {
    if (!me) return;
    try {
      const m = /^#\/applications\/([A-Za-z0-9_.~-]+)$/.exec(location.hash);
      if (m) await showDetail(decodeURIComponent(m[1]));
      else await showQueue(queueState(), false);
    } catch (err) {
      fail(err);
    }
  }

  // ---- start ----

  async function login(ev) {
    ev.preventDefault();
    clearNotice();
    const username = $('login-username').value.trim();
    const password = $('login-password').value;
    if (!username || !password) {
      notify('请输入用户名和密码。');
      return;
    }
    $('login-submit').disabled = true;
    try {
      const r = await request('POST', '/v1/console/session', { username, password });
      sessionStorage.setItem(CSRF_KEY, r.csrf_token);
      $('login-password').value = '';
      loggedIn(r);
      if (!location.hash.startsWith('#/')) location.hash = '#/queue?state=awaiting_ca';
      await route();
    } catch (err) {
      $('login-password').value = '';
      if (err instanceof ApiError && err.status === 401) notify('用户名或密码错误。');
      else notify(describe(err));
    } finally {
      $('login-submit').disabled = false;
    }
  }

  async function logout() {
    clearNotice();
    try {
      await api('DELETE', '/v1/console/session');
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) {
        notify(describe(err));
        return;
      }
    }
    loggedOut();
    notify('已退出登录。', true);
  }

  async function start() {
    $('login-form').addEventListener('submit', login);
    $('logout').addEventListener('click', logout);
    $('state-filter').addEventListener('change', () => {
      clearNotice();
      const h = '#/queue?state=' + encodeURIComponent($('state-filter').value);
      if (location.hash === h) route();
      else location.hash = h;
    });
    $('refresh').addEventListener('click', () => { clearNotice(); route(); });
    $('queue-more').addEventListener('click', () => showQueue(queueState(), true).catch(fail));
    $('back').addEventListener('click', () => { clearNotice(); location.hash = '#/queue?state=' + encodeURIComponent(lastState); });
    $('approve').addEventListener('click', () => decide('approval'));
    $('reject').addEventListener('click', () => decide('rejection'));
    window.addEventListener('hashchange', route);

    await loadCas();
    try {
      const who = await request('GET', '/v1/console/session');
      // A tab opened without the CSRF token (a new tab) takes a fresh one.
      if (!csrf()) await renewCsrf();
      loggedIn(who);
      await route();
    } catch (err) {
      loggedOut();
      if (!(err instanceof ApiError && err.status === 401)) notify(describe(err));
    }
    document.body.dataset.ready = '1';
  }

  start();
})();
