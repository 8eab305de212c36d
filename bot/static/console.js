/* Helpline agent console: ticket list, transcript, reply box and ticket details.
 * Plain JavaScript, no build step. Everything a customer or agent wrote is put on the page
 * with textContent / createElement only. */
(function () {
  'use strict';

  var VIEWS = ['mine', 'queue', 'unassigned', 'all'];
  var DEFAULT_VIEW = 'queue';
  var LATE_AFTER_MS = 5 * 60 * 1000;
  var REFRESH_EVERY_MS = 30 * 1000;
  var SENDERS = ['customer', 'bot', 'agent', 'system'];
  var CLOSED_STATUSES = ['resolved', 'closed'];

  var root = document.getElementById('console');
  if (!root) return;

  var body = document.body;
  var me = {
    id: String(body.getAttribute('data-user-id') || ''),
    username: String(body.getAttribute('data-username') || ''),
    supervises: ['supervisor', 'admin'].indexOf(body.getAttribute('data-role')) !== -1
  };
  var baseTitle = document.title;

  function byId(id) { return document.getElementById(id); }

  var els = {
    tabs: byId('filter-tabs'),
    tabPanel: byId('ticket-list-panel'),
    list: byId('ticket-list'),
    listEmpty: byId('list-empty'),
    live: byId('live-status'),
    refresh: byId('refresh-button'),
    convEmpty: byId('conv-empty'),
    convEmptyText: byId('conv-empty-text'),
    conv: byId('conv'),
    subject: byId('conv-subject'),
    subtitle: byId('conv-subtitle'),
    back: byId('back-button'),
    take: byId('take-button'),
    resolve: byId('resolve-button'),
    detailsToggle: byId('details-toggle'),
    detailsClose: byId('details-close'),
    transcript: byId('transcript'),
    replyForm: byId('reply-form'),
    replyInput: byId('reply-input'),
    activity: byId('activity-notice'),
    replySend: byId('reply-send'),
    details: byId('ticket-details'),
    detailsEmpty: byId('details-empty'),
    customerAvatar: byId('customer-avatar'),
    customerName: byId('customer-name'),
    customerChannel: byId('customer-channel'),
    entityList: byId('entity-list'),
    suggestionList: byId('suggestion-list'),
    suggestionEmpty: byId('suggestion-empty'),
    entityEmpty: byId('entity-empty'),
    toasts: byId('toasts')
  };

  var state = {
    view: DEFAULT_VIEW,
    tickets: new Map(),      // id -> Ticket, for the current view
    order: [],               // ticket ids in display order
    unread: new Set(),       // ticket ids with messages not yet seen
    selectedId: null,
    selected: null,          // Ticket shown in the middle and right panes
    loadingTicket: false,
    buffered: [],            // pushed messages for the open ticket while it loads
    messageIds: new Set(),
    entities: new Map(),
    payloadTitles: new Map(), // button payload -> its title, from the open ticket's bot messages
    customerName: '',
    listSeq: 0,
    ticketSeq: 0,
    busy: { take: false, resolve: false, send: false },
    wsEverOpen: false,
    refreshTimer: null
  };

  /* ── Small helpers ─────────────────────────────────────────────────── */

  var el = window.helpline.el;
  var api = window.helpline.api;

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function parseTime(iso) {
    if (!iso) return NaN;
    var t = Date.parse(iso);
    return isNaN(t) ? NaN : t;
  }

  function formatDuration(ms) {
    if (!isFinite(ms)) return '—';
    var s = Math.max(0, Math.floor(ms / 1000));
    var d = Math.floor(s / 86400);
    var h = Math.floor((s % 86400) / 3600);
    var m = Math.floor((s % 3600) / 60);
    var sec = s % 60;
    if (d > 0) return d + 'd ' + h + 'h';
    if (h > 0) return h + 'h ' + (m < 10 ? '0' : '') + m + 'm';
    if (m > 0) return m + 'm ' + (sec < 10 ? '0' : '') + sec + 's';
    return sec + 's';
  }

  function sameDay(a, b) {
    return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
  }

  function formatDateTime(iso) {
    var t = parseTime(iso);
    if (isNaN(t)) return '—';
    return new Date(t).toLocaleString(undefined, {
      year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit'
    });
  }

  function formatMessageTime(iso) {
    var t = parseTime(iso);
    if (isNaN(t)) return '';
    var d = new Date(t);
    var time = d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
    if (sameDay(d, new Date())) return time;
    return d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' }) + ', ' + time;
  }

  function humanize(value) {
    if (value === null || value === undefined || value === '') return '—';
    var s = String(value).replace(/_/g, ' ');
    return s.charAt(0).toUpperCase() + s.slice(1);
  }

  function initials(name) {
    var parts = String(name || '?').trim().split(/\s+/).filter(Boolean);
    if (!parts.length) return '?';
    var first = parts[0].charAt(0);
    var last = parts.length > 1 ? parts[parts.length - 1].charAt(0) : '';
    return (first + last).toUpperCase();
  }

  var safeUrl = window.helpline.safeUrl;
  var appendLinkified = window.helpline.appendLinkified;

  function isMine(ticket) {
    if (!ticket || !ticket.assignee) return false;
    var a = ticket.assignee;
    if (me.id && a.id !== null && a.id !== undefined && String(a.id) === me.id) return true;
    return !!(me.username && a.username && a.username === me.username);
  }

  function isClosed(ticket) {
    return !!ticket && CLOSED_STATUSES.indexOf(ticket.status) !== -1;
  }

  function isWaiting(ticket) {
    return !!ticket && !ticket.first_response_at && !isClosed(ticket) && !isNaN(parseTime(ticket.created_at));
  }

  function ticketSubject(ticket) {
    return ticket.subject && String(ticket.subject).trim() ? String(ticket.subject) : 'Ticket #' + ticket.id;
  }

  function customerName(ticket) {
    return ticket && ticket.customer && ticket.customer.display_name
      ? String(ticket.customer.display_name) : 'Customer';
  }

  function assigneeName(ticket) {
    if (!ticket || !ticket.assignee) return null;
    return String(ticket.assignee.display_name || ticket.assignee.username || 'Agent');
  }

  /* ── Toasts ─────────────────────────────────────────────────────────── */

  function toast(message, kind) {
    var node = el('div', {
      className: 'toast' + (kind === 'info' ? '' : kind === 'sla' ? ' toast-warning' : ' toast-error'),
      role: kind === 'info' ? 'status' : 'alert',
      'data-testid': 'toast'
    });
    node.appendChild(el('span', { className: 'toast-text', text: message || 'Something went wrong.' }));
    var close = el('button', { type: 'button', className: 'toast-close', 'aria-label': 'Dismiss', text: '×' });
    close.addEventListener('click', function () { node.remove(); });
    node.appendChild(close);
    els.toasts.appendChild(node);
    while (els.toasts.children.length > 4) els.toasts.removeChild(els.toasts.firstChild);
    setTimeout(function () { if (node.parentNode) node.remove(); }, 8000);
  }

  /* ── Ticket list ────────────────────────────────────────────────────── */

  function setView(view, focusTab) {
    if (VIEWS.indexOf(view) === -1) view = DEFAULT_VIEW;
    state.view = view;
    var tabs = els.tabs.querySelectorAll('[role="tab"]');
    for (var i = 0; i < tabs.length; i++) {
      var selected = tabs[i].getAttribute('data-view') === view;
      tabs[i].setAttribute('aria-selected', selected ? 'true' : 'false');
      tabs[i].tabIndex = selected ? 0 : -1;
      if (selected) {
        els.tabPanel.setAttribute('aria-labelledby', tabs[i].id);
        if (focusTab) tabs[i].focus();
      }
    }
    state.tickets = new Map();
    state.order = [];
    renderList();
    loadTickets(false);
  }

  function loadTickets(quiet) {
    var seq = ++state.listSeq;
    var view = state.view;
    els.list.setAttribute('aria-busy', 'true');
    return api('GET', '/api/console/tickets?view=' + encodeURIComponent(view)).then(function (data) {
      if (seq !== state.listSeq) return;
      state.tickets = new Map();
      state.order = [];
      (Array.isArray(data.tickets) ? data.tickets : []).forEach(function (t) {
        if (!t || t.id === undefined || t.id === null) return;
        var id = Number(t.id);
        if (!state.tickets.has(id)) state.order.push(id);
        state.tickets.set(id, t);
        noticeSla(t, slaSeeded);
      });
      slaSeeded = true;
      els.list.setAttribute('aria-busy', 'false');
      renderList();
      if (state.selectedId !== null && state.tickets.has(state.selectedId) && !state.loadingTicket) {
        state.selected = state.tickets.get(state.selectedId);
        renderTicketInfo();
      }
    }, function (err) {
      if (seq !== state.listSeq) return;
      els.list.setAttribute('aria-busy', 'false');
      renderList();
      if (!quiet) toast(err.message);
    });
  }

  var listRefreshTimer = null;
  function scheduleListRefresh() {
    clearTimeout(listRefreshTimer);
    listRefreshTimer = setTimeout(function () { loadTickets(true); }, 1500);
  }

  /* Whether a ticket we were told about belongs in the current view, as far as the client can tell. */
  function plausiblyInView(ticket) {
    switch (state.view) {
      case 'mine': return isMine(ticket);
      case 'unassigned': return !ticket.assignee;
      default: return true;
    }
  }

  function upsertTicket(ticket) {
    var id = Number(ticket.id);
    if (state.tickets.has(id)) {
      if (plausiblyInView(ticket)) {
        state.tickets.set(id, ticket);
      } else {
        state.tickets.delete(id);
        state.order = state.order.filter(function (x) { return x !== id; });
      }
    } else if (plausiblyInView(ticket)) {
      state.tickets.set(id, ticket);
      state.order.unshift(id);
    }
  }

  function renderWaitClock(ticket) {
    var clock = el('span', { className: 'wait-clock', 'data-since': ticket.created_at, 'data-testid': 'wait-clock' });
    updateClock(clock, Date.now());
    return clock;
  }

  function updateClock(clock, now) {
    var since = parseTime(clock.getAttribute('data-since'));
    var ms = now - since;
    var text = formatDuration(ms);
    if (clock.textContent !== text) clock.textContent = text;
    var late = ms >= LATE_AFTER_MS;
    clock.classList.toggle('is-late', late);
    clock.title = late ? 'Waiting for a first reply for more than 5 minutes' : 'Waiting for a first reply';
  }

  function updateAllClocks() {
    var now = Date.now();
    var clocks = document.querySelectorAll('.wait-clock[data-since]');
    for (var i = 0; i < clocks.length; i++) updateClock(clocks[i], now);
    var slas = document.querySelectorAll('.sla-clock[data-due]');
    for (var j = 0; j < slas.length; j++) updateSlaClock(slas[j], now);
  }

  /* The SLA clock that runs out first on an open ticket: first reply, next reply or resolution. */
  var SLA_CLOCKS = [
    ['first_response_due_at', '1st reply'],
    ['next_response_due_at', 'Next reply'],
    ['resolution_due_at', 'Resolve']
  ];
  var SLA_SOON_MS = 15 * 60 * 1000;

  function nextSla(ticket) {
    if (!ticket.sla || isClosed(ticket)) return null;
    var best = null;
    SLA_CLOCKS.forEach(function (c) {
      if (c[0] === 'first_response_due_at' && ticket.first_response_at) return;
      var due = parseTime(ticket.sla[c[0]]);
      if (!isNaN(due) && (best === null || due < best.due)) best = { due: due, label: c[1] };
    });
    return best;
  }

  function renderSlaClock(ticket) {
    var next = nextSla(ticket);
    if (!next) return null;
    var clock = el('span', {
      className: 'sla-clock', 'data-due': String(next.due), 'data-label': next.label, 'data-testid': 'sla-clock'
    });
    updateSlaClock(clock, Date.now());
    return clock;
  }

  function updateSlaClock(clock, now) {
    var left = Number(clock.getAttribute('data-due')) - now;
    var label = clock.getAttribute('data-label');
    var text = left < 0 ? label + ' overdue ' + formatDuration(-left) : label + ' in ' + formatDuration(left);
    if (clock.textContent !== text) clock.textContent = text;
    clock.classList.toggle('is-overdue', left < 0);
    clock.classList.toggle('is-soon', left >= 0 && left < SLA_SOON_MS);
    clock.title = label + ' due ' + new Date(Number(clock.getAttribute('data-due'))).toLocaleString();
  }

  /* Escalations and breaches that happen while the console is open are announced to
     supervisors (every ticket) and to the assignee (their own). What was already marked when
     the console loaded is only shown in the list. A mark is told apart by when it happened:
     the next-reply clock escalates again each time the customer waits for a new answer. */
  var slaSeen = new Set();
  var slaSeeded = false;

  function slaMarks(ticket) {
    return ticket.sla && Array.isArray(ticket.sla.marked) ? ticket.sla.marked : [];
  }

  function noticeSla(ticket, announce) {
    slaMarks(ticket).forEach(function (m) {
      var key = ticket.id + ':' + m.kind + ':' + m.clock + ':' + m.at;
      if (slaSeen.has(key)) return;
      slaSeen.add(key);
      if (!announce || !(me.supervises || isMine(ticket))) return;
      var what = humanize(m.clock) + (m.kind === 'breached' ? ' SLA breached' : ' SLA about to breach');
      toast('Ticket #' + ticket.id + ' (' + (ticket.queue || 'no queue') + '): ' + what +
        '; priority ' + (ticket.priority || 'normal') + '.', 'sla');
    });
  }

  function statusBadge(status) {
    return el('span', { className: 'badge badge-' + (status || 'unknown'), text: humanize(status) });
  }

  function renderTicketItem(ticket) {
    var id = Number(ticket.id);
    var selected = id === state.selectedId;
    var unread = state.unread.has(id);
    var li = el('li', {
      className: 'ticket-item' + (selected ? ' is-selected' : '') + (unread ? ' is-unread' : ''),
      'data-testid': 'ticket-item',
      'data-ticket-id': id,
      'data-status': ticket.status || '',
      'data-unread': unread ? 'true' : 'false'
    });
    var link = el('a', {
      className: 'ticket-link',
      href: '#ticket-' + id,
      'aria-current': selected ? 'true' : null
    });

    var row1 = el('div', { className: 'ticket-row' }, [
      el('span', { className: 'ticket-subject', text: ticketSubject(ticket) })
    ]);
    if (isWaiting(ticket)) row1.appendChild(renderWaitClock(ticket));
    link.appendChild(row1);
    var sla = renderSlaClock(ticket);

    var channel = ticket.customer && ticket.customer.channel ? ' · ' + ticket.customer.channel : '';
    link.appendChild(el('div', { className: 'ticket-row' }, [
      el('span', { className: 'ticket-customer', text: customerName(ticket) + channel }),
      el('span', { className: 'ticket-id', text: '#' + id })
    ]));

    var meta = el('div', { className: 'ticket-meta' }, [statusBadge(ticket.status)]);
    if (sla) meta.appendChild(sla);
    var breached = ticket.sla && ticket.sla.breached && ticket.sla.breached.length;
    var escalated = ticket.sla && ticket.sla.escalated && ticket.sla.escalated.length;
    if ((breached || escalated) && !isClosed(ticket)) {
      meta.appendChild(el('span', {
        className: 'badge badge-' + (breached ? 'urgent' : 'high'), 'data-testid': 'sla-badge',
        text: breached ? 'SLA breached' : 'SLA at risk'
      }));
    }
    if (ticket.queue) meta.appendChild(el('span', { className: 'badge', title: 'Queue', text: ticket.queue }));
    if (ticket.priority && ticket.priority !== 'normal') {
      meta.appendChild(el('span', { className: 'badge badge-' + ticket.priority, text: ticket.priority }));
    }
    var who = assigneeName(ticket);
    meta.appendChild(el('span', {
      className: 'ticket-assignee',
      title: who ? 'Assigned to ' + who : 'Not assigned',
      text: who ? (isMine(ticket) ? 'You' : who) : 'Unassigned'
    }));
    link.appendChild(meta);
    if (unread) link.appendChild(el('span', { className: 'sr-only', text: ' (new messages)' }));
    li.appendChild(link);
    return li;
  }

  function renderList() {
    var active = document.activeElement;
    var focusedId = null;
    if (active && els.list.contains(active)) {
      var item = active.closest('[data-ticket-id]');
      if (item) focusedId = item.getAttribute('data-ticket-id');
    }
    var frag = document.createDocumentFragment();
    state.order.forEach(function (id) {
      var t = state.tickets.get(id);
      if (t) frag.appendChild(renderTicketItem(t));
    });
    clear(els.list);
    els.list.appendChild(frag);
    var busy = els.list.getAttribute('aria-busy') === 'true';
    els.listEmpty.hidden = busy || state.order.length > 0;
    if (focusedId !== null) {
      var again = els.list.querySelector('[data-ticket-id="' + focusedId + '"] a');
      if (again) again.focus();
    }
    updateTitle();
  }

  function updateTitle() {
    var n = state.unread.size;
    document.title = (n ? '(' + n + ') ' : '') + baseTitle;
  }

  /* ── Open ticket ────────────────────────────────────────────────────── */

  function ticketIdFromHash() {
    var m = /^#ticket-(\d+)$/.exec(location.hash || '');
    return m ? Number(m[1]) : null;
  }

  function showConversationPane(show) {
    els.conv.hidden = !show;
    els.convEmpty.hidden = show;
    els.details.hidden = !show;
    els.detailsEmpty.hidden = show;
    root.setAttribute('data-pane', show ? 'ticket' : 'list');
  }

  function openTicket(id, opts) {
    var keep = opts && opts.keep;
    var seq = ++state.ticketSeq;
    var switching = state.selectedId !== id;
    state.selectedId = id;
    if (switching) { els.activity.hidden = true; announce('viewing'); loadSuggestions(id); }
    state.loadingTicket = true;
    state.buffered = [];
    if (state.unread.delete(id)) updateTitle();
    if (switching || !keep) {
      state.selected = state.tickets.get(id) || null;
      state.messageIds = new Set();
      state.entities = new Map();
      state.payloadTitles = new Map();
      clear(els.transcript);
      els.transcript.appendChild(el('p', { className: 'transcript-loading', text: 'Loading conversation…' }));
      els.transcript.setAttribute('aria-busy', 'true');
      els.replyInput.value = '';
    }
    showConversationPane(true);
    renderList();
    renderTicketInfo();

    return api('GET', '/api/console/tickets/' + encodeURIComponent(id)).then(function (data) {
      if (seq !== state.ticketSeq) return;
      state.loadingTicket = false;
      state.selected = data.ticket || state.selected;
      if (state.selected && state.tickets.has(id)) state.tickets.set(id, state.selected);
      var wasNearBottom = nearBottom();
      var scrollTop = els.transcript.scrollTop;
      state.messageIds = new Set();
      state.entities = new Map();
      state.payloadTitles = new Map();
      state.customerName = customerName(state.selected);
      clear(els.transcript);
      els.transcript.setAttribute('aria-busy', 'false');
      var messages = Array.isArray(data.messages) ? data.messages : [];
      messages.concat(state.buffered).forEach(function (m) { appendMessage(m, false); });
      state.buffered = [];
      if (!messages.length) {
        els.transcript.appendChild(el('p', { className: 'transcript-loading', text: 'No messages yet.' }));
      }
      if (!keep || wasNearBottom) scrollToBottom(); else els.transcript.scrollTop = scrollTop;
      renderList();
      renderTicketInfo();
      renderEntities();
    }, function (err) {
      if (seq !== state.ticketSeq) return;
      state.loadingTicket = false;
      els.transcript.setAttribute('aria-busy', 'false');
      toast(err.message);
      if (!keep) {
        clear(els.transcript);
        els.transcript.appendChild(el('p', { className: 'transcript-loading', text: 'This conversation could not be loaded.' }));
        if (err.status === 404) closeTicket(true);
      }
    });
  }

  function closeTicket(replaceUrl) {
    state.ticketSeq++;
    state.selectedId = null;
    state.selected = null;
    state.loadingTicket = false;
    state.messageIds = new Set();
    state.entities = new Map();
    state.payloadTitles = new Map();
    clear(els.transcript);
    showConversationPane(false);
    setDetailsOpen(false);
    if (location.hash && replaceUrl !== false) {
      history.replaceState(null, '', location.pathname + location.search);
    }
    renderList();
  }

  function nearBottom() {
    var t = els.transcript;
    return t.scrollHeight - t.scrollTop - t.clientHeight < 80;
  }

  function scrollToBottom() {
    els.transcript.scrollTop = els.transcript.scrollHeight;
  }

  function renderTicketInfo() {
    var t = state.selected;
    if (!t) {
      els.subject.textContent = state.selectedId !== null ? 'Ticket #' + state.selectedId : 'Conversation';
      els.subtitle.textContent = '';
      els.take.hidden = true;
      els.resolve.hidden = true;
      setReplyEnabled(false, 'Loading…');
      return;
    }
    els.subject.textContent = ticketSubject(t);
    var parts = ['#' + t.id, customerName(t)];
    if (t.queue) parts.push(t.queue);
    parts.push(humanize(t.status));
    els.subtitle.textContent = parts.join(' · ');
    renderActions();
    renderDetails();
  }

  function renderActions() {
    var t = state.selected;
    if (!t) return;
    var mine = isMine(t);
    var closed = isClosed(t);
    var who = assigneeName(t);
    els.take.hidden = mine;
    els.take.disabled = state.busy.take;
    els.take.title = who ? 'Assigned to ' + who + '. Take it over.' : 'Assign this ticket to yourself';
    els.resolve.hidden = false;
    els.resolve.disabled = !mine || closed || state.busy.resolve;
    els.resolve.title = closed ? 'This ticket is ' + t.status : (mine ? 'Mark this ticket as resolved' : 'Take the ticket first');
    var canReply = mine && !closed;
    var hint = closed ? 'This ticket is ' + t.status + '.'
      : (mine ? 'Write a reply…' : (who ? 'Assigned to ' + who + '. Take the ticket to reply.' : 'Take the ticket to reply.'));
    setReplyEnabled(canReply, hint);
  }

  function setReplyEnabled(enabled, placeholder) {
    els.replyInput.disabled = !enabled;
    els.replyInput.readOnly = state.busy.send;
    els.replyInput.placeholder = placeholder || '';
    els.replySend.disabled = !enabled || state.busy.send;
  }

  function setField(name, value) {
    var dd = els.details.querySelector('[data-field="' + name + '"]');
    if (!dd) return null;
    clear(dd);
    if (value !== undefined && value !== null) {
      dd.appendChild(typeof value === 'string' ? document.createTextNode(value) : value);
    }
    return dd;
  }

  function renderDetails() {
    var t = state.selected;
    if (!t) return;
    var name = customerName(t);
    els.customerAvatar.textContent = initials(name);
    els.customerName.textContent = name;
    els.customerChannel.textContent = t.customer && t.customer.channel
      ? 'Channel: ' + t.customer.channel : 'Channel: —';
    setField('id', '#' + t.id);
    setField('status', statusBadge(t.status));
    setField('queue', t.queue ? String(t.queue) : '—');
    var who = assigneeName(t);
    setField('assignee', who ? who + (isMine(t) ? ' (you)' : '') : 'Unassigned');
    setField('priority', t.priority ? el('span', { className: 'badge badge-' + t.priority, text: t.priority }) : '—');
    setField('intent', t.intent ? humanize(t.intent) : '—');
    var due = t.sla && t.sla.first_response_due_at;
    setField('sla', due && !t.first_response_at ? formatDateTime(due) + (t.sla.breached && t.sla.breached.length ? ' (breached)' : '') : '—');
    setField('tags', t.tags && t.tags.length ? t.tags.join(', ') : '—');
    byId('priority-select').value = t.priority || 'normal';
    var created = el('time', { datetime: t.created_at || '', text: formatDateTime(t.created_at) });
    setField('created', created);
    var created_ms = parseTime(t.created_at);
    if (isWaiting(t)) {
      setField('waiting', renderWaitClock(t));
    } else if (t.first_response_at && !isNaN(created_ms)) {
      setField('waiting', 'Answered after ' + formatDuration(parseTime(t.first_response_at) - created_ms));
    } else {
      setField('waiting', '—');
    }
  }

  function addEntities(nlu) {
    if (!nlu || !Array.isArray(nlu.entities)) return false;
    var added = false;
    nlu.entities.forEach(function (e) {
      if (!e || e.value === undefined || e.value === null) return;
      var key = String(e.entity) + '\u0000' + String(e.value);
      if (!state.entities.has(key)) {
        state.entities.set(key, { entity: String(e.entity || 'entity'), value: String(e.value) });
        added = true;
      }
    });
    return added;
  }

  function renderEntities() {
    clear(els.entityList);
    state.entities.forEach(function (e) {
      els.entityList.appendChild(el('li', { className: 'chip', 'data-testid': 'entity-chip' }, [
        el('span', { className: 'chip-key', text: humanize(e.entity) + ':' }),
        ' ',
        el('span', { text: e.value })
      ]));
    });
    els.entityEmpty.hidden = state.entities.size > 0;
  }

  /* ── Transcript ─────────────────────────────────────────────────────── */

  function renderNlu(nlu) {
    var box = el('div', { className: 'nlu', 'data-testid': 'nlu' });
    box.appendChild(el('span', { className: 'sr-only', text: 'Understood as: ' }));
    box.appendChild(el('span', { className: 'nlu-intent', title: 'Intent', text: nlu.intent ? String(nlu.intent) : 'no intent' }));
    if (typeof nlu.confidence === 'number' && isFinite(nlu.confidence)) {
      var pct = Math.round(nlu.confidence * 100);
      box.appendChild(el('span', {
        className: 'nlu-confidence' + (pct < 50 ? ' is-low' : ''),
        title: 'Confidence',
        text: pct + '%'
      }));
    }
    if (Array.isArray(nlu.entities)) {
      nlu.entities.forEach(function (e) {
        if (!e) return;
        box.appendChild(el('span', { className: 'chip', title: 'Entity' }, [
          el('span', { className: 'chip-key', text: String(e.entity || 'entity') + ':' }),
          ' ',
          el('span', { text: e.value === undefined || e.value === null ? '' : String(e.value) })
        ]));
      });
    }
    if (nlu.sentiment && nlu.sentiment.label) {
      var label = String(nlu.sentiment.label);
      var score = typeof nlu.sentiment.score === 'number' ? ' (score ' + nlu.sentiment.score.toFixed(2) + ')' : '';
      box.appendChild(el('span', {
        className: 'sentiment sentiment-' + label.toLowerCase().replace(/[^a-z]/g, ''),
        title: 'Sentiment' + score,
        text: label
      }));
    }
    return box;
  }

  function senderLabel(m, sender) {
    if (sender === 'customer') return m.sender_name ? String(m.sender_name) : state.customerName || 'Customer';
    if (sender === 'bot') return m.sender_name ? String(m.sender_name) : 'Bot';
    if (sender === 'agent') return m.sender_name ? String(m.sender_name) : 'Agent';
    return 'System';
  }

  function renderMessage(m) {
    var sender = SENDERS.indexOf(m.sender) !== -1 ? m.sender : 'system';
    var node = el('div', {
      className: 'msg msg--' + sender,
      'data-testid': 'message',
      'data-sender': sender,
      'data-message-id': m.id
    });
    if (sender !== 'system') {
      var head = el('div', { className: 'msg-head' }, [
        el('span', { className: 'msg-author', text: senderLabel(m, sender) })
      ]);
      if (sender !== 'customer') {
        head.appendChild(el('span', { className: 'msg-role', text: sender === 'bot' ? 'Bot' : 'Agent' }));
      }
      var when = formatMessageTime(m.created_at);
      if (when) head.appendChild(el('time', { datetime: m.created_at, title: formatDateTime(m.created_at), text: when }));
      node.appendChild(head);
    }
    var bubble = el('div', { className: 'msg-bubble' });
    var files = Array.isArray(m.attachments) ? m.attachments : [];
    var names = files.map(function (a) { return String(a.filename); }).join(', ');
    var text = m.text;
    // A button the customer pressed is stored as its payload: show the button's title.
    if (sender === 'customer' && state.payloadTitles.has(String(text))) {
      node.setAttribute('data-payload', String(text));
      bubble.title = String(text);
      text = 'Pressed: ' + state.payloadTitles.get(String(text));
    }
    if (!files.length || m.text !== names) appendLinkified(bubble, text);
    files.forEach(function (a) { if (a) bubble.appendChild(renderAttachment(a)); });
    node.appendChild(bubble);

    if (Array.isArray(m.citations) && m.citations.length) {
      var cites = el('div', { className: 'msg-citations' });
      m.citations.forEach(function (c) {
        if (!c) return;
        var href = safeUrl(c.url);
        var title = String(c.title || c.url || 'article');
        cites.appendChild(href
          ? el('a', { href: href, target: '_blank', rel: 'noopener', text: 'Source: ' + title })
          : el('span', { text: 'Source: ' + title }));
      });
      node.appendChild(cites);
    }
    if (Array.isArray(m.buttons) && m.buttons.length) {
      var offered = el('div', { className: 'msg-buttons' }, [el('span', { text: 'Offered:' })]);
      m.buttons.forEach(function (b) {
        if (!b) return;
        if (b.payload && b.title) state.payloadTitles.set(String(b.payload), String(b.title));
        offered.appendChild(el('span', { className: 'chip', title: b.payload ? String(b.payload) : null, text: String(b.title || b.payload || '') }));
      });
      node.appendChild(offered);
    }
    if (sender === 'customer' && m.nlu) node.appendChild(renderNlu(m.nlu));
    return node;
  }

  /* A file the customer sent: images as a thumbnail linking to the full picture, PDFs as a link. */
  function renderAttachment(a) {
    var href = safeUrl(a.url);
    var name = String(a.filename || 'file');
    if (!href) return el('span', { className: 'msg-file', text: name });
    var image = /^image\//.test(String(a.content_type));
    return el('a', {
      href: href, target: '_blank', rel: 'noopener', 'data-testid': 'message-attachment',
      className: image ? 'msg-attachment' : 'msg-attachment msg-file',
      'aria-label': (image ? 'Image: ' : 'PDF: ') + name + ' (opens in a new tab)'
    }, [image ? el('img', { src: href, alt: name, loading: 'lazy', className: 'msg-thumb' }) : name]);
  }

  function appendMessage(m, autoScroll) {
    if (!m || m.id === undefined || m.id === null) return;
    var key = String(m.id);
    if (state.messageIds.has(key)) return;
    var stick = autoScroll && (nearBottom() || m.sender === 'agent');
    state.messageIds.add(key);
    var placeholder = els.transcript.querySelector('.transcript-loading');
    if (placeholder) placeholder.remove();
    els.transcript.appendChild(renderMessage(m));
    if (addEntities(m.nlu) && autoScroll) renderEntities();
    if (stick) scrollToBottom();
  }

  /* ── Actions ────────────────────────────────────────────────────────── */

  function applyTicket(ticket) {
    if (!ticket || ticket.id === undefined || ticket.id === null) return;
    var id = Number(ticket.id);
    noticeSla(ticket, true);
    upsertTicket(ticket);
    if (id === state.selectedId) {
      state.selected = ticket;
      renderTicketInfo();
    }
    renderList();
  }

  function take() {
    var t = state.selected;
    if (!t || state.busy.take) return;
    state.busy.take = true;
    renderActions();
    api('POST', '/api/console/tickets/' + t.id + '/take', {}).then(function (data) {
      state.busy.take = false;
      if (data.ticket) applyTicket(data.ticket); else renderActions();
      scheduleListRefresh();
      if (!els.replyInput.disabled) els.replyInput.focus();
    }, function (err) {
      state.busy.take = false;
      renderActions();
      toast(err.message);
    });
  }

  function resolveTicket() {
    var t = state.selected;
    if (!t || state.busy.resolve) return;
    state.busy.resolve = true;
    renderActions();
    api('POST', '/api/console/tickets/' + t.id + '/resolve', {}).then(function (data) {
      state.busy.resolve = false;
      if (data.ticket) applyTicket(data.ticket); else renderActions();
      scheduleListRefresh();
      toast('Ticket #' + t.id + ' resolved.', 'info');
    }, function (err) {
      state.busy.resolve = false;
      renderActions();
      toast(err.message);
    });
  }

  function sendReply() {
    var t = state.selected;
    var text = els.replyInput.value.trim();
    if (!t || !text || state.busy.send || els.replyInput.disabled) return;
    var ticketId = t.id;
    state.busy.send = true;
    renderActions();
    api('POST', '/api/console/tickets/' + ticketId + '/messages', { text: text }).then(function (data) {
      state.busy.send = false;
      if (state.selectedId === Number(ticketId)) {
        if (els.replyInput.value.trim() === text) els.replyInput.value = '';
        if (data.message) appendMessage(data.message, true);
        scrollToBottom();
      }
      renderActions();
      els.replyInput.focus();
    }, function (err) {
      state.busy.send = false;
      renderActions();
      toast(err.message);
      els.replyInput.focus();
    });
  }

  /* ── Live updates ───────────────────────────────────────────────────── */

  function setLive(stateName, text) {
    els.live.setAttribute('data-state', stateName);
    els.live.textContent = text;
  }

  /* Live updates for the tickets this agent may see; after a drop the console reconnects and
     catches up from the API. A closed session stays closed. */
  var liveUrl = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws/console';
  var live = window.helpline.reconnecting(liveUrl, {
    open: function () {
      live.reset();
      setLive('live', 'Live');
      if (state.wsEverOpen) {
        // Catch up on whatever happened while we were away.
        loadTickets(true);
        if (state.selectedId !== null) openTicket(state.selectedId, { keep: true });
      }
      state.wsEverOpen = true;
    },
    message: handleEvent,
    close: function (ev) {
      if (ev.code !== 4401 && ev.code !== 4403) return true;
      setLive('offline', 'Signed out');
      toast('Your session has ended. Please sign in again.');
      return false;
    },
    retry: function () { setLive('reconnecting', 'Reconnecting…'); }
  });

  function handleEvent(data) {
    if (!data || typeof data !== 'object') return;
    if (data.type === 'ticket' && data.ticket) {
      applyTicket(data.ticket);
      scheduleListRefresh();
    } else if (data.type === 'message' && data.message) {
      var ticketId = Number(data.ticket_id);
      if (ticketId === state.selectedId) {
        if (state.loadingTicket) state.buffered.push(data.message);
        else appendMessage(data.message, true);
      } else if (!isNaN(ticketId)) {
        state.unread.add(ticketId);
        renderList();
      }
    } else if (data.type === 'activity' && Number(data.ticket_id) === state.selectedId) {
      showActivity(data);
    } else if (data.type === 'error' && data.message) {
      toast(String(data.message));
    }
  }

  /* Who else is on the open ticket: "Customer is typing…", "Grace is viewing this ticket". */
  var activityTimer = null;
  /* Ticket actions: priority, transfer, tags and internal notes; presence for the agent. */
  function ticketAction(path, payload, done) {
    if (state.selectedId === null) return;
    api('POST', '/api/console/tickets/' + state.selectedId + '/' + path, payload)
      .then(function (data) {
        if (data.ticket) applyTicket(data.ticket);
        if (data.message) appendMessage(data.message, true);
        if (done) done();
      })
      .catch(function (err) { toast(err.message); });
  }

  function onSubmit(id, handler) {
    byId(id).addEventListener('submit', function (ev) { ev.preventDefault(); handler(); });
  }

  onSubmit('priority-form', function () { ticketAction('priority', { priority: byId('priority-select').value }); });
  onSubmit('transfer-form', function () { ticketAction('transfer', { queue: byId('transfer-select').value }); });
  onSubmit('tag-form', function () {
    var input = byId('tag-input');
    if (input.value.trim()) ticketAction('tags', { tag: input.value.trim() }, function () { input.value = ''; });
  });
  onSubmit('note-form', function () {
    var input = byId('note-input');
    if (input.value.trim()) ticketAction('notes', { text: input.value.trim() }, function () { input.value = ''; });
  });
  byId('presence-select').addEventListener('change', function (ev) {
    api('POST', '/api/console/me/status', { status: ev.target.value })
      .then(function () { toast('You are ' + ev.target.value + '.'); loadTickets(true); })
      .catch(function (err) { toast(err.message); });
  });

  /* Knowledge-base drafts for the customer's latest message; a click puts one in the reply box
     with its source, for the agent to edit and send. */
  function loadSuggestions(id) {
    clear(els.suggestionList);
    els.suggestionEmpty.hidden = false;
    fetch('/api/console/tickets/' + id + '/suggestions', { credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.json() : { suggestions: [] }; })
      .then(function (data) {
        if (state.selectedId !== id) return;
        (data.suggestions || []).forEach(function (s) {
          var use = el('button', { type: 'button', className: 'suggestion', 'data-testid': 'suggestion' }, [
            el('strong', { text: String(s.title) }),
            el('span', { className: 'muted small', text: String(s.text).slice(0, 140) })
          ]);
          use.addEventListener('click', function () {
            if (els.replyInput.disabled) { toast('Take the ticket to reply.'); return; }
            els.replyInput.value = String(s.text) + '\n\nSource: ' + String(s.title) + ' ' + location.origin + String(s.url);
            els.replyInput.focus();
          });
          els.suggestionList.appendChild(el('li', {}, [use]));
        });
        els.suggestionEmpty.hidden = els.suggestionList.childElementCount > 0;
      })
      .catch(function () { /* suggestions are a help, not a must */ });
  }

  function showActivity(data) {
    var who = data.who === 'customer' ? 'The customer' : String(data.name || 'Another agent');
    var what = data.activity === 'typing' ? ' is typing…' : ' is viewing this ticket';
    els.activity.textContent = who + what;
    els.activity.hidden = false;
    clearTimeout(activityTimer);
    activityTimer = setTimeout(function () { els.activity.hidden = true; }, 6000);
  }

  function announce(kind) {
    if (state.selectedId !== null) live.send({ type: kind, ticket_id: state.selectedId });
  }

  var lastTypingSent = 0;
  function announceTyping() {
    if (!els.replyInput.value.trim() || Date.now() - lastTypingSent < 3000) return;
    lastTypingSent = Date.now();
    announce('typing');
  }

  /* ── Details drawer (medium and narrow screens) ─────────────────────── */

  function setDetailsOpen(open) {
    root.classList.toggle('details-open', open);
    els.detailsToggle.setAttribute('aria-expanded', open ? 'true' : 'false');
  }

  /* ── Wiring ─────────────────────────────────────────────────────────── */

  els.tabs.addEventListener('click', function (ev) {
    var tab = ev.target.closest('[role="tab"]');
    if (!tab) return;
    setView(tab.getAttribute('data-view'), false);
  });
  els.tabs.addEventListener('keydown', function (ev) {
    var tabs = Array.prototype.slice.call(els.tabs.querySelectorAll('[role="tab"]'));
    var i = tabs.indexOf(document.activeElement);
    if (i === -1) return;
    var next = null;
    if (ev.key === 'ArrowRight') next = (i + 1) % tabs.length;
    else if (ev.key === 'ArrowLeft') next = (i - 1 + tabs.length) % tabs.length;
    else if (ev.key === 'Home') next = 0;
    else if (ev.key === 'End') next = tabs.length - 1;
    if (next === null) return;
    ev.preventDefault();
    setView(tabs[next].getAttribute('data-view'), true);
  });

  els.list.addEventListener('click', function (ev) {
    var item = ev.target.closest('[data-ticket-id]');
    if (!item) return;
    if (ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) return;
    var id = Number(item.getAttribute('data-ticket-id'));
    ev.preventDefault();
    if (location.hash !== '#ticket-' + id) location.hash = 'ticket-' + id;
    else if (state.selectedId !== id) openTicket(id);
    else showConversationPane(true);
  });

  window.addEventListener('hashchange', function () {
    var id = ticketIdFromHash();
    if (id === null) {
      if (state.selectedId !== null) closeTicket(false);
    } else if (id !== state.selectedId) {
      openTicket(id);
    }
  });

  els.back.addEventListener('click', function () {
    var id = state.selectedId;
    closeTicket(true);
    var link = id !== null && els.list.querySelector('[data-ticket-id="' + id + '"] a');
    if (link) link.focus();
  });

  els.refresh.addEventListener('click', function () {
    loadTickets(false);
    if (state.selectedId !== null) openTicket(state.selectedId, { keep: true });
  });

  els.take.addEventListener('click', take);
  els.resolve.addEventListener('click', resolveTicket);

  els.replyForm.addEventListener('submit', function (ev) {
    ev.preventDefault();
    sendReply();
  });
  els.replyInput.addEventListener('input', announceTyping);
  els.replyInput.addEventListener('keydown', function (ev) {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.altKey && !ev.isComposing) {
      ev.preventDefault();
      sendReply();
    }
  });

  els.detailsToggle.addEventListener('click', function () {
    var open = !root.classList.contains('details-open');
    setDetailsOpen(open);
    if (open) els.detailsClose.focus();
  });
  els.detailsClose.addEventListener('click', function () {
    setDetailsOpen(false);
    els.detailsToggle.focus();
  });
  document.addEventListener('keydown', function (ev) {
    if (ev.key === 'Escape' && root.classList.contains('details-open')) {
      setDetailsOpen(false);
      els.detailsToggle.focus();
    }
  });

  window.addEventListener('online', live.connect);
  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'visible') live.connect();
  });

  /* ── Start ──────────────────────────────────────────────────────────── */

  setLive('connecting', 'Connecting…');
  setView(DEFAULT_VIEW, false);
  var initial = ticketIdFromHash();
  if (initial !== null) openTicket(initial);
  else showConversationPane(false);
  live.connect();
  setInterval(updateAllClocks, 1000);
  state.refreshTimer = setInterval(function () { loadTickets(true); }, REFRESH_EVERY_MS);
})();
