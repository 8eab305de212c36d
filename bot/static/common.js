/* Helpers shared by the chat widget, the agent console and its canned responses; the only
 * global is window.helpline = { el(), api(), reconnecting(), safeUrl(), appendLinkified() }.
 * The console's page loads this file before its own scripts; /static/widget.js is served with
 * this file in front of it, so a customer's page still embeds the widget with one tag.
 * Plain JavaScript, no build step. */
(function () {
  'use strict';

  if (window.helpline) return;

  var BACKOFF_MIN_MS = 1000;
  var BACKOFF_MAX_MS = 15000;

  /* A new element. `props` become attributes, except `className` and `text` (the element's
     text, never parsed as HTML); null, undefined and false are left out. `children` are nodes
     or strings (added as text). */
  function el(tag, props, children) {
    var node = document.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (key) {
        var value = props[key];
        if (value === null || value === undefined || value === false) return;
        if (key === 'className') node.className = value;
        else if (key === 'text') node.textContent = String(value);
        else node.setAttribute(key, value === true ? '' : String(value));
      });
    }
    (children || []).forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }

  /* An http(s) URL resolved against `base` (default: this page), or null for any other
     scheme (javascript:, data:, ...) or what is not a URL. */
  function safeUrl(raw, base) {
    try {
      var url = new URL(String(raw), base || location.href);
      return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  var URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;

  /* Appends text to parent, turning http(s) URLs into links, without parsing any HTML. */
  function appendLinkified(parent, text) {
    var str = text === null || text === undefined ? '' : String(text);
    var last = 0;
    var match;
    URL_RE.lastIndex = 0;
    while ((match = URL_RE.exec(str)) !== null) {
      var raw = match[0].replace(/[.,;:!?)\]}'"]+$/, '');
      var start = match.index;
      var href = raw.length > 8 ? safeUrl(raw) : null;
      if (!href) { URL_RE.lastIndex = start + match[0].length; continue; }
      if (start > last) parent.appendChild(document.createTextNode(str.slice(last, start)));
      parent.appendChild(el('a', { href: href, target: '_blank', rel: 'noopener noreferrer', text: raw }));
      last = start + raw.length;
      URL_RE.lastIndex = last;
    }
    if (last < str.length) parent.appendChild(document.createTextNode(str.slice(last)));
  }

  function ApiError(code, message, status) {
    this.code = code;
    this.message = message;
    this.status = status;
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute('content') || '' : '';
  }

  /* A call to our own JSON API as the signed-in staff member: anything but a GET sends
     `payload` as JSON with the page's CSRF token. Resolves to the answer's JSON; rejects with
     an ApiError { code, message, status } carrying the server's own message (status 0 when the
     server could not be reached). A 401 sends the browser to the login page. */
  function api(method, url, payload) {
    var opts = { method: method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (method !== 'GET') {
      opts.headers['Content-Type'] = 'application/json';
      opts.headers['X-CSRF-Token'] = csrfToken();
      opts.body = JSON.stringify(payload || {});
    }
    return fetch(url, opts).then(function (res) {
      return res.text().then(function (raw) {
        var data = null;
        if (raw) {
          try { data = JSON.parse(raw); } catch (e) { data = null; }
        }
        if (!res.ok) {
          var err = data && data.error ? data.error : {};
          if (res.status === 401) {
            location.href = '/login?next=' + encodeURIComponent(location.pathname + location.search + location.hash);
          }
          throw new ApiError(err.code || 'http_' + res.status,
            err.message || 'The server answered ' + res.status + ' ' + (res.statusText || '') + '.', res.status);
        }
        return data || {};
      });
    }, function () {
      throw new ApiError('network', 'Could not reach the server. Check your connection and try again.', 0);
    });
  }

  /* A WebSocket to `url` that comes back after it closes, waiting 1 s, 2 s, 4 s ... up to 15 s
     between tries. Calls on.message(data) with each JSON object received, on.open() when a
     connection opens, on.close(event) when it closes (return false to stay closed) and
     on.retry() before each wait. The caller calls reset() once a connection proves good, so
     the next loss starts again from the shortest wait. */
  function reconnecting(url, on) {
    var socket = null;
    var attempts = 0;
    var timer = null;

    function connect() {
      clearTimeout(timer);
      if (socket) return;
      var ws;
      try {
        ws = new WebSocket(url);
      } catch (e) {
        retry();
        return;
      }
      socket = ws;
      ws.addEventListener('open', function () {
        if (socket === ws && on.open) on.open();
      });
      ws.addEventListener('message', function (ev) {
        if (socket !== ws) return;
        var data;
        try { data = JSON.parse(ev.data); } catch (e) { return; }
        if (data && typeof data === 'object') on.message(data);
      });
      ws.addEventListener('close', function (ev) {
        if (socket !== ws) return;
        socket = null;
        if (on.close && on.close(ev) === false) return;
        retry();
      });
    }

    function retry() {
      if (on.retry) on.retry();
      var delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, attempts));
      attempts++;
      clearTimeout(timer);
      timer = setTimeout(connect, delay);
    }

    return {
      /* Opens a connection unless one is open or opening. */
      connect: connect,
      /* Whether a connection is open or opening. */
      connected: function () { return socket !== null; },
      /* Sends `frame` as JSON; false when there is no open connection to send it on. */
      send: function (frame) {
        if (!socket || socket.readyState !== 1) return false;
        try {
          socket.send(JSON.stringify(frame));
          return true;
        } catch (e) {
          return false;
        }
      },
      /* Closes the connection; like any close, a new one follows (unless on.close says no). */
      close: function () { if (socket) socket.close(); },
      reset: function () { attempts = 0; }
    };
  }

  window.helpline = Object.freeze({
    el: el,
    api: api,
    reconnecting: reconnecting,
    safeUrl: safeUrl,
    appendLinkified: appendLinkified
  });
})();
