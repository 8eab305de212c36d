/* Helpline chat widget. Embed with one tag:
 *   <script src="https://support.example/static/widget.js" data-title="…" data-color="#2f6f4f"
 *           data-greeting="…" data-position="left" defer></script>
 * Loads widget.css from the same place, talks to ws(s)://<host of the script>/ws/widget and sends
 * files (images, PDF) by POST to /api/widget/attachments on that host.
 * Everything a customer or agent wrote is put on the page with textContent / createElement only.
 * Served with common.js in front of it (see bot/web/widget_script.py); its globals are
 * window.HelplineWidget = { open(), close() } and the shared helpers, window.helpline. */
(function () {
  'use strict';

  if (window.HelplineWidget) return;

  var TOKEN_KEY = 'helpline.token';
  var HANDOFF_PAYLOAD = '/human_handoff';
  var TYPING_TIMEOUT_MS = 10000;
  var TYPING_SEND_MS = 3000;
  var SENDERS = ['customer', 'bot', 'agent', 'system'];
  var SVG_NS = 'http://www.w3.org/2000/svg';

  /* ── Configuration from the script tag ──────────────────────────────── */

  function findScript() {
    if (document.currentScript) return document.currentScript;
    var scripts = document.querySelectorAll('script[src]');
    for (var i = scripts.length - 1; i >= 0; i--) {
      if (/\/widget\.js(?:[?#]|$)/.test(scripts[i].src)) return scripts[i];
    }
    return null;
  }

  var script = findScript();
  var scriptUrl = new URL(script && script.src ? script.src : '/static/widget.js', location.href);

  function attr(name) {
    var v = script ? script.getAttribute(name) : null;
    return v === null ? '' : String(v).trim();
  }

  function validColor(value) {
    if (!value) return null;
    if (window.CSS && typeof window.CSS.supports === 'function') {
      return window.CSS.supports('color', value) ? value : null;
    }
    return /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i.test(value) ? value : null;
  }

  /* Black or white text, whichever reads better on the accent colour (hex colours only). */
  function textOn(color) {
    var m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(color);
    if (!m) return '#ffffff';
    var hex = m[1].length === 3 ? m[1].replace(/(.)/g, '$1$1') : m[1];
    var rgb = [0, 2, 4].map(function (i) {
      var c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    var lum = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
    return (1.05 / (lum + 0.05)) >= ((lum + 0.05) / 0.05) ? '#ffffff' : '#111111';
  }

  var cfg = {
    title: attr('data-title') || 'Support',
    color: validColor(attr('data-color')) || '#2456d6',
    greeting: attr('data-greeting'),
    position: attr('data-position') === 'left' ? 'left' : 'right',
    botName: attr('data-bot-name') || 'Finch'
  };
  var wsUrl = (scriptUrl.protocol === 'https:' ? 'wss://' : 'ws://') + scriptUrl.host + '/ws/widget';
  var uploadUrl = new URL('/api/widget/attachments', scriptUrl).href;
  var FILE_TYPES = 'image/png,image/jpeg,image/gif,image/webp,application/pdf';

  /* ── Small helpers ──────────────────────────────────────────────────── */

  var storage = {
    get: function (key) {
      try { return window.localStorage.getItem(key); } catch (e) { return null; }
    },
    set: function (key, value) {
      try { window.localStorage.setItem(key, value); } catch (e) { /* private mode: keep it in memory */ }
    }
  };

  function uuid() {
    if (window.crypto && typeof window.crypto.randomUUID === 'function') return window.crypto.randomUUID();
    var b = new Uint8Array(16);
    if (window.crypto && window.crypto.getRandomValues) window.crypto.getRandomValues(b);
    else for (var i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }

  var el = window.helpline.el;

  function icon(paths, size) {
    var svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('width', String(size || 24));
    svg.setAttribute('height', String(size || 24));
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    paths.forEach(function (d) {
      var p = document.createElementNS(SVG_NS, 'path');
      p.setAttribute('d', d);
      p.setAttribute('fill', 'none');
      p.setAttribute('stroke', 'currentColor');
      p.setAttribute('stroke-width', '2');
      p.setAttribute('stroke-linecap', 'round');
      p.setAttribute('stroke-linejoin', 'round');
      svg.appendChild(p);
    });
    return svg;
  }

  var ICON_CHAT = ['M4 6.5A2.5 2.5 0 0 1 6.5 4h11A2.5 2.5 0 0 1 20 6.5v8a2.5 2.5 0 0 1-2.5 2.5H10l-4.5 3.5V17A2.5 2.5 0 0 1 4 14.5z', 'M8.5 9.5h7M8.5 12.5h4.5'];
  var ICON_DOWN = ['M6 9.5l6 6 6-6'];
  var ICON_CLOSE = ['M6 6l12 12M18 6L6 18'];
  var ICON_SEND = ['M4.5 12h13', 'M12.5 6l6 6-6 6'];
  var ICON_CLIP = ['M20 11.5l-7.8 7.8a5 5 0 0 1-7.1-7.1l8.5-8.5a3.3 3.3 0 0 1 4.7 4.7l-8.5 8.5a1.7 1.7 0 0 1-2.4-2.4l7.8-7.8'];
  var ICON_FILE = ['M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8z', 'M14 3v5h5'];
  var ICON_PERSON = ['M12 12a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7z', 'M5 20a7 7 0 0 1 14 0'];

  var safeUrl = window.helpline.safeUrl;
  var appendLinkified = window.helpline.appendLinkified;

  function formatTime(iso) {
    var t = Date.parse(iso || '');
    if (isNaN(t)) return '';
    return new Date(t).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  }

  /* ── State ──────────────────────────────────────────────────────────── */

  var state = {
    welcomed: false,
    retryTimer: null,
    started: false,
    everConnected: false,
    token: storage.get(TOKEN_KEY),
    conversationId: null,
    status: 'bot',
    messages: [],            // server messages, in order
    nodes: new Map(),        // message id -> element
    outbox: [],              // { clientId, text, label, node, state: 'pending' | 'failed' }
    greetingSticky: false,
    csat: null,              // { question } while the prompt should show
    csatSending: false,
    csatThanks: null,
    open: false,
    unread: 0,
    typingTimer: null,
    errorTimer: null,
    payloadTitles: new Map([[HANDOFF_PAYLOAD, 'Talk to a person']])
  };

  /* ── DOM ────────────────────────────────────────────────────────────── */

  var ui = {};

  function build() {
    var root = el('div', {
      id: 'helpline-widget',
      className: 'hlw-root hlw-' + cfg.position,
      'data-testid': 'widget-root'
    });
    root.style.setProperty('--hlw-accent', cfg.color);
    root.style.setProperty('--hlw-on-accent', textOn(cfg.color));
    root.style.visibility = 'hidden'; // until widget.css has loaded

    var launcher = el('button', {
      type: 'button',
      className: 'hlw-launcher',
      'aria-label': 'Open chat: ' + cfg.title,
      'aria-expanded': 'false',
      'aria-controls': 'hlw-panel',
      'data-testid': 'widget-launcher'
    });
    var iconOpen = icon(ICON_CHAT, 28);
    iconOpen.setAttribute('class', 'hlw-icon-open');
    var iconClose = icon(ICON_DOWN, 28);
    iconClose.setAttribute('class', 'hlw-icon-close');
    var badge = el('span', { className: 'hlw-badge', 'aria-hidden': 'true', 'data-testid': 'widget-unread' });
    badge.hidden = true;
    launcher.appendChild(iconOpen);
    launcher.appendChild(iconClose);
    launcher.appendChild(badge);

    var panel = el('div', {
      id: 'hlw-panel',
      className: 'hlw-panel',
      role: 'dialog',
      'aria-labelledby': 'hlw-title',
      'data-testid': 'widget-panel'
    });
    panel.hidden = true;

    var status = el('p', { className: 'hlw-status', id: 'hlw-status', 'data-testid': 'widget-status' });
    var handoff = el('button', {
      type: 'button',
      className: 'hlw-handoff',
      'data-testid': 'widget-handoff'
    }, [icon(ICON_PERSON, 16), el('span', { text: 'Talk to a person' })]);
    var closeBtn = el('button', {
      type: 'button',
      className: 'hlw-icon-btn hlw-close',
      'aria-label': 'Close chat',
      'data-testid': 'widget-close'
    }, [icon(ICON_CLOSE, 20)]);
    var header = el('div', { className: 'hlw-header' }, [
      el('div', { className: 'hlw-header-top' }, [
        el('div', { className: 'hlw-avatar', 'aria-hidden': 'true' }, [icon(ICON_CHAT, 20)]),
        el('h2', { className: 'hlw-title', id: 'hlw-title', text: cfg.title }),
        closeBtn
      ]),
      el('div', { className: 'hlw-header-sub' }, [status, handoff])
    ]);

    var conn = el('div', { className: 'hlw-conn', role: 'status', 'data-testid': 'widget-connection' });
    conn.hidden = true;

    var transcript = el('div', {
      className: 'hlw-transcript',
      role: 'log',
      'aria-live': 'polite',
      'aria-label': 'Conversation',
      'aria-relevant': 'additions text',
      tabindex: '0',
      'data-testid': 'widget-transcript'
    });
    var greeting = el('div', {
      className: 'hlw-msg hlw-msg--bot hlw-greeting',
      'data-testid': 'widget-greeting'
    }, [
      el('div', { className: 'hlw-sender', text: cfg.botName }),
      el('div', { className: 'hlw-bubble', text: cfg.greeting })
    ]);
    greeting.hidden = true;
    var messages = el('div', { className: 'hlw-messages' });
    var typing = el('div', { className: 'hlw-typing', 'aria-hidden': 'true', 'data-testid': 'widget-typing' }, [
      el('span'), el('span'), el('span')
    ]);
    typing.hidden = true;
    var csat = el('div', { className: 'hlw-csat-slot' });
    transcript.appendChild(greeting);
    transcript.appendChild(messages);
    transcript.appendChild(typing);
    transcript.appendChild(csat);

    var alert = el('div', { className: 'hlw-alert', role: 'alert', 'data-testid': 'widget-error' });

    var input = el('textarea', {
      id: 'hlw-input',
      className: 'hlw-input',
      rows: '1',
      placeholder: 'Type your message…',
      'aria-label': 'Type your message',
      autocomplete: 'off',
      'data-testid': 'widget-input'
    });
    var send = el('button', {
      type: 'submit',
      className: 'hlw-send',
      'aria-label': 'Send message',
      'data-testid': 'widget-send'
    }, [icon(ICON_SEND, 20)]);
    var attach = el('button', {
      type: 'button',
      className: 'hlw-attach',
      'aria-label': 'Attach a file (image or PDF)',
      title: 'Attach an image or a PDF',
      'data-testid': 'widget-attach'
    }, [icon(ICON_CLIP, 20)]);
    var fileInput = el('input', {
      type: 'file',
      accept: FILE_TYPES,
      multiple: true,
      hidden: true,
      tabindex: '-1',
      'aria-hidden': 'true',
      'data-testid': 'widget-file'
    });
    var form = el('form', { className: 'hlw-composer', 'aria-label': 'Send a message' }, [attach, input, send, fileInput]);
    var footer = el('p', { className: 'hlw-footer', text: 'Powered by Helpline' });

    panel.appendChild(header);
    panel.appendChild(conn);
    panel.appendChild(transcript);
    panel.appendChild(alert);
    panel.appendChild(form);
    panel.appendChild(footer);
    root.appendChild(panel);
    root.appendChild(launcher);

    ui = {
      root: root, launcher: launcher, badge: badge, panel: panel, status: status, handoff: handoff,
      close: closeBtn, conn: conn, transcript: transcript, greeting: greeting, messages: messages,
      typing: typing, csat: csat, alert: alert, form: form, input: input, send: send,
      attach: attach, fileInput: fileInput
    };

    launcher.addEventListener('click', function () { if (state.open) close(); else open(); });
    closeBtn.addEventListener('click', function () { close(); });
    handoff.addEventListener('click', function () { sendText(HANDOFF_PAYLOAD, 'Talk to a person'); });
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      submitInput();
    });
    input.addEventListener('keydown', function (ev) {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        submitInput();
      }
    });
    attach.addEventListener('click', function () { fileInput.click(); });
    fileInput.addEventListener('change', function () {
      Array.prototype.forEach.call(fileInput.files || [], function (file) { sendFile(file); });
      fileInput.value = '';
    });
    input.addEventListener('input', autoGrow);
    input.addEventListener('input', announceTyping);
    document.addEventListener('keydown', function (ev) {
      if (ev.key !== 'Escape' || !state.open) return;
      var active = document.activeElement;
      if (active && active !== document.body && !root.contains(active)) return;
      ev.preventDefault();
      close();
    });
    document.addEventListener('click', function (ev) {
      var target = ev.target && ev.target.closest ? ev.target.closest('[data-helpline-open]') : null;
      if (!target || root.contains(target)) return;
      ev.preventDefault();
      open();
    });

    var link = el('link', { rel: 'stylesheet', href: new URL('widget.css', scriptUrl).href });
    var shown = false;
    function reveal() {
      if (shown) return;
      shown = true;
      root.style.visibility = '';
    }
    link.addEventListener('load', reveal);
    link.addEventListener('error', reveal);
    setTimeout(reveal, 3000);
    (document.head || document.documentElement).appendChild(link);
    document.body.appendChild(root);

    renderStatus();
    renderGreeting();
  }

  function autoGrow() {
    ui.input.style.height = 'auto';
    ui.input.style.height = Math.min(ui.input.scrollHeight, 120) + 'px';
  }

  /* ── Open / close ───────────────────────────────────────────────────── */

  var openWhenReady = false;

  function open() {
    if (!ui.root) { openWhenReady = true; return; }
    state.open = true;
    ui.panel.hidden = false;
    ui.root.classList.add('hlw-is-open');
    ui.launcher.setAttribute('aria-expanded', 'true');
    ui.launcher.setAttribute('aria-label', 'Close chat: ' + cfg.title);
    setUnread(0);
    start();
    scrollToBottom();
    try { ui.input.focus({ preventScroll: true }); } catch (e) { ui.input.focus(); }
  }

  function close() {
    openWhenReady = false;
    if (!ui.root || !state.open) return;
    var hadFocus = ui.root.contains(document.activeElement);
    state.open = false;
    ui.panel.hidden = true;
    ui.root.classList.remove('hlw-is-open');
    ui.launcher.setAttribute('aria-expanded', 'false');
    ui.launcher.setAttribute('aria-label', 'Open chat: ' + cfg.title);
    if (hadFocus) ui.launcher.focus();
  }

  function setUnread(n) {
    state.unread = n;
    ui.badge.hidden = n <= 0;
    ui.badge.textContent = n > 9 ? '9+' : String(n);
    var label = (state.open ? 'Close chat: ' : 'Open chat: ') + cfg.title;
    if (n > 0) label += ' (' + n + ' new ' + (n === 1 ? 'message' : 'messages') + ')';
    ui.launcher.setAttribute('aria-label', label);
  }

  /* ── Connection ─────────────────────────────────────────────────────── */

  /* The connection: after a drop it comes back by itself, and the hello resumes the
     conversation; the wait between tries starts again from the shortest once welcomed. */
  var link = window.helpline.reconnecting(wsUrl, {
    open: function () { link.send({ type: 'hello', token: state.token || null }); },
    message: handle,
    close: function () { state.welcomed = false; },
    retry: function () {
      setConnection('Reconnecting…');
      hideTyping();
    }
  });

  function start() {
    if (state.started) return;
    state.started = true;
    link.connect();
  }

  function reconnectNow() {
    if (!state.started || link.connected()) return;
    link.reset();
    link.connect();
  }

  function setConnection(text) {
    ui.conn.textContent = text || '';
    ui.conn.hidden = !text;
  }

  function sendFrame(frame) {
    return state.welcomed && link.send(frame);
  }

  /* ── Server frames ──────────────────────────────────────────────────── */

  function handle(data) {
    switch (data.type) {
      case 'welcome': onWelcome(data); break;
      case 'ack': onAck(data); break;
      case 'message': if (data.message) onServerMessage(data.message, true); break;
      case 'status': if (data.status) { state.status = String(data.status); renderStatus(); } break;
      case 'csat_request': showCsat(data.question); if (!state.open) setUnread(state.unread + 1); break;
      case 'rating_saved': onRatingSaved(data); break;
      case 'error': onError(data); break;
      case 'typing': showTyping(); break;
      default: break;
    }
  }

  function onWelcome(data) {
    if (data.token) {
      state.token = String(data.token);
      storage.set(TOKEN_KEY, state.token);
    }
    var history = Array.isArray(data.messages) ? data.messages.filter(function (m) { return m && m.id !== undefined && m.id !== null; }) : [];
    var sameConversation = state.conversationId === null || data.conversation_id === undefined ||
      String(state.conversationId) === String(data.conversation_id);
    if (data.conversation_id !== undefined && data.conversation_id !== null) state.conversationId = data.conversation_id;
    if (!state.everConnected && history.length === 0) state.greetingSticky = true;
    if (!sameConversation) state.greetingSticky = history.length === 0;
    state.everConnected = true;
    state.welcomed = true;
    link.reset();
    setConnection('');
    if (data.status) state.status = String(data.status);

    applyHistory(history, sameConversation);

    if (data.csat && typeof data.csat === 'object') {
      showCsat(data.csat.question);
    } else if (state.csat && !state.csatSending) {
      state.csat = null;
      renderCsat();
    }
    renderGreeting();
    renderStatus();
    renderChips();
    flushOutbox();
    scrollToBottom();
  }

  /* Replaces what is shown with the server's history; keeps unacknowledged messages at the end. */
  function applyHistory(history, sameConversation) {
    var shownIds = state.messages.map(function (m) { return String(m.id); });
    var prefix = sameConversation && shownIds.length <= history.length && shownIds.every(function (id, i) {
      return String(history[i].id) === id;
    });
    if (!prefix) {
      state.messages = [];
      state.nodes = new Map();
      while (ui.messages.firstChild) ui.messages.removeChild(ui.messages.firstChild);
      state.outbox.forEach(function (item) { ui.messages.appendChild(item.node); });
    }
    history.slice(state.messages.length).forEach(function (m) { insertServerMessage(m); });
  }

  function onServerMessage(m, live) {
    if (!m || m.id === undefined || m.id === null) return;
    if (state.nodes.has(String(m.id))) return;
    insertServerMessage(m);
    if (m.sender !== 'customer') hideTyping();
    renderStatus();
    renderChips();
    if (live && !state.open && m.sender !== 'customer') setUnread(state.unread + 1);
    if (live) scrollToBottom();
  }

  /* Adds a server message after the other server messages, before any still-pending ones. */
  function insertServerMessage(m) {
    var key = String(m.id);
    if (state.nodes.has(key)) return;
    rememberButtons(m);
    var node = renderMessage(m, 'sent');
    state.messages.push(m);
    state.nodes.set(key, node);
    var firstPending = state.outbox.length ? state.outbox[0].node : null;
    if (firstPending && firstPending.parentNode === ui.messages) ui.messages.insertBefore(node, firstPending);
    else ui.messages.appendChild(node);
  }

  function onAck(data) {
    var clientId = data.client_id;
    var idx = -1;
    for (var i = 0; i < state.outbox.length; i++) {
      if (state.outbox[i].clientId === clientId) { idx = i; break; }
    }
    var m = data.message;
    if (idx === -1) {
      if (m) onServerMessage(m, false);
      return;
    }
    var item = state.outbox.splice(idx, 1)[0];
    if (!m || m.id === undefined || m.id === null) {
      setNodeState(item.node, 'sent');
      return;
    }
    if (state.nodes.has(String(m.id))) {
      // Already shown (e.g. pushed by the server, or it was in the history after a reconnect).
      if (item.node.parentNode) item.node.parentNode.removeChild(item.node);
    } else {
      var node = renderMessage(m, 'sent');
      if (item.node.parentNode) item.node.parentNode.replaceChild(node, item.node);
      else ui.messages.appendChild(node);
      // Keep server messages in their order, ahead of the remaining pending ones.
      var firstPending = state.outbox.length ? state.outbox[0].node : null;
      if (firstPending && firstPending.parentNode === ui.messages) ui.messages.insertBefore(node, firstPending);
      state.messages.push(m);
      state.nodes.set(String(m.id), node);
    }
    renderChips();
  }

  /* The server could not take it just now (its database is unreachable, or messages came too
     fast): the message stays pending and goes again after the wait the server asked for. Before
     a welcome, the hello is repeated by reconnecting. */
  function retryLater(data) {
    var wait = Math.max(1, Number(data.retry_after) || 5) * 1000;
    setConnection(data.code === 'unavailable' ? 'Reconnecting…' : 'Sending again shortly…');
    hideTyping();
    if (state.csatSending) {
      state.csatSending = false;
      renderCsat();
    }
    clearTimeout(state.retryTimer);
    state.retryTimer = setTimeout(function () {
      if (!state.welcomed) {
        link.close();
        return;
      }
      setConnection('');
      flushOutbox();
    }, wait);
  }

  function onError(data) {
    if (data.code === 'unavailable' || (data.code === 'rate_limited' && data.retry_after)) {
      retryLater(data);
      return;
    }
    var text = data.message ? String(data.message) : 'Something went wrong.';
    if (data.client_id) {
      for (var i = 0; i < state.outbox.length; i++) {
        if (state.outbox[i].clientId === data.client_id) {
          var item = state.outbox.splice(i, 1)[0];
          item.state = 'failed';
          setNodeState(item.node, 'failed', item);
          // A failed message is not resent: keep it after the server's messages.
          ui.messages.appendChild(item.node);
          state.outbox.forEach(function (other) { ui.messages.appendChild(other.node); });
          break;
        }
      }
      hideTyping();
    }
    if (state.csatSending) {
      state.csatSending = false;
      renderCsat();
    }
    showError(text);
  }

  function clearError() {
    clearTimeout(state.errorTimer);
    ui.alert.textContent = '';
    ui.alert.classList.remove('hlw-alert-on');
  }

  function showError(text) {
    ui.alert.textContent = text;
    ui.alert.classList.add('hlw-alert-on');
    clearTimeout(state.errorTimer);
    state.errorTimer = setTimeout(clearError, 10000);
  }

  /* ── Sending ────────────────────────────────────────────────────────── */

  function submitInput() {
    var text = ui.input.value.trim();
    if (!text) return;
    ui.input.value = '';
    autoGrow();
    sendText(text, null);
    ui.input.focus();
  }

  function sendText(text, label) {
    start();
    clearError();
    var item = { clientId: uuid(), text: text, label: label, node: null, state: 'pending' };
    item.node = renderMessage({ sender: 'customer', text: text }, 'pending');
    item.node.setAttribute('data-client-id', item.clientId);
    state.outbox.push(item);
    ui.messages.appendChild(item.node);
    state.greetingSticky = state.greetingSticky || state.messages.length === 0;
    renderGreeting();
    renderChips();
    if (sendFrame({ type: 'message', text: item.text, client_id: item.clientId }) && state.status === 'bot') showTyping();
    scrollToBottom();
  }

  function flushOutbox() {
    var sent = false;
    state.outbox.forEach(function (item) {
      if (item.file) { if (item.state === 'pending' && !item.uploading) upload(item); return; }
      if (item.state === 'pending' && sendFrame({ type: 'message', text: item.text, client_id: item.clientId })) sent = true;
    });
    if (sent && state.status === 'bot') showTyping();
  }

  function retry(item) {
    if (item.node.parentNode) item.node.parentNode.removeChild(item.node);
    if (item.file) sendFile(item.file);
    else sendText(item.text, item.label);
  }

  /* ── Files ──────────────────────────────────────────────────────────── */

  /* A file goes by HTTP POST, signed with the visitor's token, and comes back as the stored
     message; it waits in the outbox like a text until the socket has given us a token. */
  function sendFile(file) {
    start();
    clearError();
    var item = { clientId: uuid(), text: file.name, file: file, node: null, state: 'pending' };
    item.node = renderMessage({ sender: 'customer', text: file.name }, 'pending');
    item.node.setAttribute('data-client-id', item.clientId);
    state.outbox.push(item);
    ui.messages.appendChild(item.node);
    renderChips();
    if (state.welcomed && state.token) upload(item);
    scrollToBottom();
  }

  function upload(item) {
    var body = new FormData();
    body.append('token', state.token);
    body.append('client_id', item.clientId);
    if (state.conversationId !== null) body.append('conversation_id', String(state.conversationId));
    body.append('file', item.file, item.file.name);
    item.uploading = true;
    fetch(uploadUrl, { method: 'POST', body: body, credentials: 'omit' }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        item.uploading = false;
        if (res.ok && data.message) return onUploaded(item, data);
        var error = data && data.error ? data.error : {};
        failUpload(item, error.message || 'The file could not be sent.', res.status >= 500);
      });
    }, function () {
      item.uploading = false;
      failUpload(item, 'The file could not be sent. Check your connection and try again.', true);
    });
  }

  function onUploaded(item, data) {
    var followed = String(state.conversationId) === String(data.message.conversation_id);
    onAck({ client_id: item.clientId, message: data.message });
    (data.replies || []).forEach(function (m) { onServerMessage(m, true); });
    // A file may start the conversation: say hello again so the socket follows it.
    if (!followed) sendFrame({ type: 'hello', token: state.token });
  }

  function failUpload(item, text, canRetry) {
    var idx = state.outbox.indexOf(item);
    if (idx !== -1) state.outbox.splice(idx, 1);
    item.state = 'failed';
    setNodeState(item.node, 'failed', canRetry ? item : null);
    showError(text);
  }

  /* ── Rendering ──────────────────────────────────────────────────────── */

  function rememberButtons(m) {
    if (!Array.isArray(m.buttons)) return;
    m.buttons.forEach(function (b) {
      if (b && b.payload && b.title) state.payloadTitles.set(String(b.payload), String(b.title));
    });
  }

  function senderName(m, sender) {
    if (m.sender_name) return String(m.sender_name);
    if (sender === 'bot') return cfg.botName;
    if (sender === 'agent') return 'Support team';
    return '';
  }

  function renderMessage(m, deliveryState) {
    var sender = SENDERS.indexOf(m.sender) !== -1 ? m.sender : 'system';
    var node = el('div', {
      className: 'hlw-msg hlw-msg--' + sender,
      'data-testid': 'widget-message',
      'data-sender': sender,
      'data-message-id': m.id !== undefined && m.id !== null ? m.id : null,
      'data-state': deliveryState
    });
    if (sender === 'bot' || sender === 'agent') {
      node.appendChild(el('div', { className: 'hlw-sender', text: senderName(m, sender) }));
    }
    var bubble = el('div', { className: 'hlw-bubble' });
    var when = formatTime(m.created_at);
    if (when) bubble.title = when;
    var text = m.text === null || m.text === undefined ? '' : String(m.text);
    // A quick reply is stored as its payload ("/returns_info"): show the button's title instead.
    if (sender === 'customer' && state.payloadTitles.has(text)) {
      node.setAttribute('data-payload', text);
      text = state.payloadTitles.get(text);
    }
    var files = Array.isArray(m.attachments) ? m.attachments : [];
    var names = files.map(function (a) { return String(a.filename); }).join(', ');
    if (!files.length || text !== names) appendLinkified(bubble, text);
    files.forEach(function (a) { if (a) bubble.appendChild(renderAttachment(a)); });
    node.appendChild(bubble);

    if (Array.isArray(m.citations) && m.citations.length) {
      var cites = el('div', { className: 'hlw-citations' });
      m.citations.forEach(function (c) {
        if (!c) return;
        var href = safeUrl(c.url, scriptUrl.href);
        var title = 'Source: ' + String(c.title || c.url || 'help article');
        cites.appendChild(href
          ? el('a', { href: href, target: '_blank', rel: 'noopener', 'data-testid': 'widget-citation', text: title })
          : el('span', { text: title }));
      });
      node.appendChild(cites);
    }
    if (sender === 'customer') node.appendChild(el('div', { className: 'hlw-delivery' }));
    setNodeState(node, deliveryState);
    return node;
  }

  /* An image as a thumbnail that opens the full picture; a PDF as a link that downloads it. */
  function renderAttachment(a) {
    var href = safeUrl(a.url, scriptUrl.href);
    var name = String(a.filename || 'file');
    if (!href) return el('span', { className: 'hlw-file', text: name });
    var link = el('a', {
      href: href, target: '_blank', rel: 'noopener', className: 'hlw-attachment',
      'data-testid': 'widget-attachment', 'data-content-type': String(a.content_type || '')
    });
    if (/^image\//.test(String(a.content_type))) {
      link.setAttribute('aria-label', 'Image: ' + name + ' (opens in a new tab)');
      link.appendChild(el('img', { src: href, alt: name, loading: 'lazy', className: 'hlw-thumb' }));
    } else {
      link.classList.add('hlw-file');
      link.appendChild(icon(ICON_FILE, 18));
      link.appendChild(el('span', { text: name + (a.size ? ' (' + formatSize(a.size) + ')' : '') }));
    }
    return link;
  }

  function formatSize(bytes) {
    if (bytes >= 1048576) return (bytes / 1048576).toFixed(1) + ' MB';
    if (bytes >= 1024) return Math.round(bytes / 1024) + ' KB';
    return bytes + ' bytes';
  }

  function setNodeState(node, deliveryState, item) {
    node.setAttribute('data-state', deliveryState);
    node.classList.toggle('hlw-pending', deliveryState === 'pending');
    node.classList.toggle('hlw-failed', deliveryState === 'failed');
    var delivery = node.querySelector('.hlw-delivery');
    if (!delivery) return;
    while (delivery.firstChild) delivery.removeChild(delivery.firstChild);
    if (deliveryState === 'pending') {
      delivery.textContent = 'Sending…';
    } else if (deliveryState === 'failed') {
      delivery.appendChild(el('span', { text: 'Not sent. ' }));
      if (item) {
        var again = el('button', { type: 'button', className: 'hlw-retry', 'data-testid': 'widget-retry', text: 'Try again' });
        again.addEventListener('click', function () { retry(item); });
        delivery.appendChild(again);
      }
    }
  }

  function renderGreeting() {
    var show = !!cfg.greeting && (state.greetingSticky || (state.messages.length === 0 && state.outbox.length === 0 && !state.token));
    ui.greeting.hidden = !show;
  }

  function lastAgentName() {
    for (var i = state.messages.length - 1; i >= 0; i--) {
      if (state.messages[i].sender === 'agent' && state.messages[i].sender_name) return String(state.messages[i].sender_name);
    }
    return null;
  }

  function botName() {
    for (var i = state.messages.length - 1; i >= 0; i--) {
      if (state.messages[i].sender === 'bot' && state.messages[i].sender_name) return String(state.messages[i].sender_name);
    }
    return cfg.botName;
  }

  function renderStatus() {
    var text;
    switch (state.status) {
      case 'waiting': text = 'Waiting for a person…'; break;
      case 'with_agent': text = 'Chatting with ' + (lastAgentName() || 'our team'); break;
      case 'awaiting_rating': text = 'Conversation ended'; break;
      case 'closed': text = 'Conversation closed'; break;
      default: text = botName() + ' (bot)';
    }
    ui.status.textContent = text;
    ui.root.setAttribute('data-status', state.status);
    var withPeople = state.status === 'waiting' || state.status === 'with_agent';
    ui.handoff.disabled = withPeople;
    ui.handoff.title = withPeople ? 'A person from our team is handling this conversation' : 'Ask for a person from our team';
  }

  /* Quick replies go under the last bot message, until the customer answers. */
  function renderChips() {
    var old = ui.messages.querySelector('.hlw-chips');
    if (old) old.parentNode.removeChild(old);
    var lastBot = -1;
    for (var i = state.messages.length - 1; i >= 0; i--) {
      if (state.messages[i].sender === 'bot') { lastBot = i; break; }
    }
    if (lastBot === -1) return;
    var m = state.messages[lastBot];
    if (!Array.isArray(m.buttons) || !m.buttons.length) return;
    for (var j = lastBot + 1; j < state.messages.length; j++) {
      if (state.messages[j].sender === 'customer') return;
    }
    if (state.outbox.some(function (item) { return item.state === 'pending'; })) return;
    var node = state.nodes.get(String(m.id));
    if (!node) return;
    var chips = el('div', { className: 'hlw-chips', role: 'group', 'aria-label': 'Suggested replies' });
    m.buttons.forEach(function (b) {
      if (!b || !b.payload) return;
      var title = String(b.title || b.payload);
      var chip = el('button', { type: 'button', className: 'hlw-chip', 'data-testid': 'widget-quick-reply', text: title });
      chip.addEventListener('click', function () { sendText(String(b.payload), title); });
      chips.appendChild(chip);
    });
    if (node.nextSibling) ui.messages.insertBefore(chips, node.nextSibling);
    else ui.messages.appendChild(chips);
  }

  /* Tell the agent the customer is typing: at most every few seconds, only while a person has
     the conversation (the bot does not need to know). */
  var lastTypingSent = 0;
  function announceTyping() {
    if (state.status !== 'waiting' && state.status !== 'with_agent') return;
    if (!ui.input.value.trim() || Date.now() - lastTypingSent < TYPING_SEND_MS) return;
    if (sendFrame({ type: 'typing' })) lastTypingSent = Date.now();
  }

  function showTyping() {
    ui.typing.hidden = false;
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(hideTyping, TYPING_TIMEOUT_MS);
    scrollToBottom();
  }

  function hideTyping() {
    clearTimeout(state.typingTimer);
    if (ui.typing) ui.typing.hidden = true;
  }

  function scrollToBottom() {
    if (!ui.transcript) return;
    ui.transcript.scrollTop = ui.transcript.scrollHeight;
  }

  /* ── Satisfaction survey ────────────────────────────────────────────── */

  function showCsat(question) {
    var q = question ? String(question) : 'How would you rate this conversation?';
    if (state.csat && state.csat.question === q && ui.csat.firstChild) return;
    state.csat = { question: q };
    state.csatSending = false;
    state.csatThanks = null;
    renderCsat();
    hideTyping();
    scrollToBottom();
  }

  function renderCsat() {
    var slot = ui.csat;
    var existing = slot.querySelector('textarea');
    var draft = existing ? existing.value : '';
    while (slot.firstChild) slot.removeChild(slot.firstChild);
    if (state.csatThanks) {
      slot.appendChild(el('p', { className: 'hlw-csat-thanks', 'data-testid': 'csat-thanks', text: state.csatThanks }));
      return;
    }
    if (!state.csat) return;
    var box = el('div', { className: 'hlw-csat', role: 'group', 'aria-labelledby': 'hlw-csat-q', 'data-testid': 'widget-csat' });
    box.appendChild(el('p', { className: 'hlw-csat-q', id: 'hlw-csat-q', text: state.csat.question }));
    var comment = el('textarea', {
      id: 'hlw-csat-comment',
      className: 'hlw-csat-comment',
      rows: '2',
      placeholder: 'Anything you would like to add? (optional)',
      'aria-label': 'Comment (optional)',
      'data-testid': 'csat-comment'
    });
    comment.value = draft;
    comment.disabled = state.csatSending;
    box.appendChild(comment);
    box.appendChild(el('p', { className: 'hlw-csat-hint', id: 'hlw-csat-hint', text: 'Choose a rating to send: 1 is poor, 5 is excellent.' }));
    var scale = el('div', { className: 'hlw-csat-scale' });
    for (var n = 1; n <= 5; n++) {
      (function (rating) {
        var btn = el('button', {
          type: 'button',
          className: 'hlw-csat-btn',
          'aria-label': 'Rate ' + rating + ' of 5',
          'aria-describedby': 'hlw-csat-hint',
          'aria-pressed': state.csatSending && state.csat.rating === rating ? 'true' : 'false',
          'data-testid': 'csat-' + rating,
          text: String(rating)
        });
        btn.disabled = state.csatSending;
        btn.addEventListener('click', function () { sendRating(rating, comment.value); });
        scale.appendChild(btn);
      })(n);
    }
    box.appendChild(scale);
    slot.appendChild(box);
  }

  function sendRating(rating, comment) {
    if (!state.csat || state.csatSending) return;
    state.csat.rating = rating;
    if (!sendFrame({ type: 'rating', rating: rating, comment: String(comment || '').trim() })) {
      showError('Not connected right now. Please try again in a moment.');
      return;
    }
    state.csatSending = true;
    renderCsat();
  }

  function onRatingSaved(data) {
    state.csatSending = false;
    state.csat = null;
    state.csatThanks = data.text ? String(data.text) : 'Thank you for your feedback!';
    renderCsat();
    scrollToBottom();
  }

  /* ── Start-up ───────────────────────────────────────────────────────── */

  function init() {
    if (document.getElementById('helpline-widget')) return;
    build();
    // Resume a conversation straight away (so replies and the unread badge arrive);
    // a first-time visitor gets connected when they open the chat.
    if (state.token) start();
    if (openWhenReady) open();
    window.addEventListener('online', reconnectNow);
    document.addEventListener('visibilitychange', function () {
      if (document.visibilityState === 'visible') reconnectNow();
    });
  }

  window.HelplineWidget = Object.freeze({
    open: function () { open(); },
    close: function () { close(); }
  });

  if (document.body) init();
  else document.addEventListener('DOMContentLoaded', init);
})();
