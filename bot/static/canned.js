/* Canned responses in the console's reply box: type "/" and a shortcut, or press the "Canned"
 * button, pick one with the arrow keys and Enter (or a click), and its text goes in the box with
 * {customer} and {agent} filled in. Supervisors and admins add, change and delete them in the
 * same dialog. Plain JavaScript, no build step; all text is set with textContent. */
(function () {
  'use strict';

  var input = document.getElementById('reply-input');
  var form = document.getElementById('reply-form');
  var dialog = document.getElementById('canned-dialog');
  if (!input || !form || !dialog) return;

  var el = window.helpline.el;
  var api = window.helpline.api;

  var agentName = document.body.getAttribute('data-display-name') || '';
  var popup = document.getElementById('canned-popup');
  var list = document.getElementById('canned-list');
  var editor = document.getElementById('canned-editor');
  var status = document.getElementById('canned-status');

  var all = [];
  var canEdit = false;
  var matches = [];
  var active = -1;
  var editingId = null;

  function load() {
    return api('GET', '/api/console/canned').then(function (data) {
      all = Array.isArray(data.canned) ? data.canned : [];
      canEdit = !!data.can_edit;
      editor.hidden = !canEdit;
      renderList();
    });
  }

  function fill(text) {
    var customer = (document.getElementById('customer-name') || {}).textContent || 'there';
    return String(text).replace(/\{customer\}/g, customer).replace(/\{agent\}/g, agentName);
  }

  function insert(canned) {
    if (input.disabled) { say('Take the ticket to reply.'); return; }
    input.value = fill(canned.text);
    closePopup();
    if (dialog.open) dialog.close();
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
  }

  function say(text) { status.textContent = text; }

  /* ── The "/" popup under the reply box ─────────────────────────────── */

  function query() {
    var m = /^\/([\w-]*)$/.exec(input.value);
    return m ? m[1].toLowerCase() : null;
  }

  function renderPopup() {
    var q = query();
    matches = q === null ? [] : all.filter(function (c) {
      return c.shortcut.indexOf(q) === 0 || c.title.toLowerCase().indexOf(q) !== -1;
    });
    if (!matches.length) { closePopup(); return; }
    if (active >= matches.length || active < 0) active = 0;
    while (popup.firstChild) popup.removeChild(popup.firstChild);
    matches.forEach(function (c, i) {
      var option = el('li', {
        id: 'canned-option-' + c.id, role: 'option', 'aria-selected': i === active ? 'true' : 'false',
        className: 'canned-option' + (i === active ? ' is-active' : ''), 'data-testid': 'canned-option'
      }, [el('strong', { text: '/' + c.shortcut }), el('span', { className: 'muted small', text: ' ' + c.title })]);
      option.addEventListener('mousedown', function (ev) { ev.preventDefault(); insert(c); });
      popup.appendChild(option);
    });
    popup.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    input.setAttribute('aria-activedescendant', 'canned-option-' + matches[active].id);
  }

  function closePopup() {
    popup.hidden = true;
    matches = [];
    active = -1;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
  }

  input.setAttribute('aria-controls', 'canned-popup');
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-expanded', 'false');
  input.addEventListener('input', renderPopup);
  input.addEventListener('blur', function () { setTimeout(closePopup, 100); });
  // Capture on the form runs before the reply box's own Enter-to-send handler.
  form.addEventListener('keydown', function (ev) {
    if (ev.target !== input || popup.hidden || !matches.length) return;
    var move = { ArrowDown: 1, ArrowUp: -1 }[ev.key];
    if (move) {
      active = (active + move + matches.length) % matches.length;
      renderPopup();
    } else if ((ev.key === 'Enter' && !ev.shiftKey) || ev.key === 'Tab') {
      insert(matches[active]);
    } else if (ev.key === 'Escape') {
      closePopup();
    } else {
      return;
    }
    ev.preventDefault();
    ev.stopPropagation();
  }, true);

  /* ── The dialog: browse all, and edit for supervisors ──────────────── */

  function renderList() {
    while (list.firstChild) list.removeChild(list.firstChild);
    all.forEach(function (c) {
      var item = el('li', { className: 'canned-item', 'data-testid': 'canned-item' });
      var use = el('button', { type: 'button', className: 'suggestion' }, [
        el('strong', { text: '/' + c.shortcut + ' · ' + c.title }),
        el('span', { className: 'muted small', text: c.text.slice(0, 160) })
      ]);
      use.addEventListener('click', function () { insert(c); });
      item.appendChild(use);
      if (canEdit) {
        var edit = el('button', { type: 'button', className: 'btn btn-ghost btn-sm', 'aria-label': 'Edit /' + c.shortcut, text: 'Edit' });
        edit.addEventListener('click', function () { startEdit(c); });
        var remove = el('button', { type: 'button', className: 'btn btn-ghost btn-sm', 'aria-label': 'Delete /' + c.shortcut, text: 'Delete' });
        remove.addEventListener('click', function () { removeCanned(c); });
        item.appendChild(edit);
        item.appendChild(remove);
      }
      list.appendChild(item);
    });
    if (!all.length) list.appendChild(el('li', { className: 'muted small', text: 'No canned responses yet.' }));
  }

  function field(name) { return editor.elements.namedItem(name); }

  function startEdit(c) {
    editingId = c ? c.id : null;
    field('shortcut').value = c ? c.shortcut : '';
    field('title').value = c ? c.title : '';
    field('text').value = c ? c.text : '';
    field('shortcut').focus();
  }

  function removeCanned(c) {
    if (!window.confirm('Delete /' + c.shortcut + '?')) return;
    api('DELETE', '/api/console/canned/' + c.id).then(function () {
      say('Deleted /' + c.shortcut + '.');
      return load();
    }).catch(function (err) { say(err.message); });
  }

  editor.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var body = { shortcut: field('shortcut').value, title: field('title').value, text: field('text').value };
    var saving = editingId === null
      ? api('POST', '/api/console/canned', body)
      : api('PUT', '/api/console/canned/' + editingId, body);
    saving.then(function (data) {
      say('Saved /' + data.canned.shortcut + '.');
      startEdit(null);
      return load();
    }).catch(function (err) { say(err.message); });
  });

  Array.prototype.forEach.call(document.querySelectorAll('[data-open-canned]'), function (button) {
    button.addEventListener('click', function () {
      say('');
      load().catch(function (err) { say(err.message); });
      dialog.showModal();
    });
  });
  document.getElementById('canned-close').addEventListener('click', function () { dialog.close(); });

  load().catch(function () { /* the box still works without them; the dialog says why */ });
})();
