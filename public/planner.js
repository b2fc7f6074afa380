/*
 * Journeys planner pages, progressive enhancement. Every page works without
 * this file (plain form posts); with it:
 *  - Create Journey / Journey Information show only the chosen trigger's and
 *    goal's own fields;
 *  - forms marked data-confirm ask before they post (delete, disable);
 *  - the Action Planner adds, moves and removes actions in the page instead
 *    of a round trip, and writes the tree shape into the `tree` field before the form posts (each
 *    branch where the action keeps it: `yes` / `no`, a split's `paths`);
 *    after each add, move or remove it fires `jr:tree-changed` on the form for
 *    planner-settings.js, which edits the settings inside the cards;
 *  - before saving a live journey it asks how many subscribers the change
 *    affects (POST …/planner/preview) and confirms in a dialog.
 * No framework, no inline script (the pages' Content-Security-Policy forbids it).
 */
(function () {
  'use strict';

  var root = document.querySelector('[data-journeys]');
  if (!root) return;
  root.classList.add('js');

  /* ---------- focus the message the server wants seen ---------- */
  var focusTarget = root.querySelector('[data-focus-on-load]');
  if (focusTarget) focusTarget.focus();

  /* ---------- trigger and goal forms ---------- */
  Array.prototype.forEach.call(root.querySelectorAll('[data-trigger-form]'), function (form) {
    // Radios `data-<kind>-choice` show the fields `data-<kind>-group="type …"` of the chosen type only.
    function update(kind) {
      var checked = form.querySelector('[data-' + kind + '-choice]:checked');
      var type = checked ? checked.value : '';
      Array.prototype.forEach.call(form.querySelectorAll('[data-' + kind + '-group]'), function (group) {
        group.hidden =
          group
            .getAttribute('data-' + kind + '-group')
            .split(' ')
            .indexOf(type) === -1;
      });
    }
    form.addEventListener('change', function (event) {
      var input = event.target;
      if (input.matches('[data-trigger-choice]')) update('trigger');
      if (input.matches('[data-goal-choice]')) update('goal');
      // "Any" and specific ids exclude each other.
      if (input.type === 'checkbox' && input.checked) {
        var box = input.closest('.jr-checks');
        if (!box) return;
        Array.prototype.forEach.call(box.querySelectorAll('input[type=checkbox]'), function (other) {
          if (other === input) return;
          if (input.hasAttribute('data-any') || other.hasAttribute('data-any')) other.checked = false;
        });
      }
    });
    update('trigger');
    update('goal');
  });

  /* ---------- confirmations ---------- */
  document.addEventListener(
    'submit',
    function (event) {
      var form = event.target;
      var question = form.getAttribute && form.getAttribute('data-confirm');
      if (!question) return;
      if (!window.confirm(question)) {
        event.preventDefault();
        return;
      }
      if (!form.querySelector('input[name=confirmed]')) {
        var confirmed = document.createElement('input');
        confirmed.type = 'hidden';
        confirmed.name = 'confirmed';
        confirmed.value = '1';
        form.appendChild(confirmed);
      }
    },
    true,
  );

  /* ---------- action planner ---------- */
  var planner = root.querySelector('[data-planner]');
  if (!planner) return;

  var dirty = false;
  var submitting = false;
  var note = planner.querySelector('[data-dirty-note]');
  if (note && note.textContent.trim()) dirty = true;

  function markDirty() {
    dirty = true;
    if (note) note.textContent = 'You have unsaved changes.';
  }

  function newId() {
    var bytes = new Uint8Array(5);
    window.crypto.getRandomValues(bytes);
    return (
      'a' +
      Array.prototype.map
        .call(bytes, function (b) {
          return ('0' + b.toString(16)).slice(-2);
        })
        .join('')
    );
  }

  function listOf(slot) {
    // The list that follows an add slot: the main flow's, or a branch's.
    var next = slot.nextElementSibling;
    while (next && !next.matches('[data-list]')) next = next.nextElementSibling;
    return next;
  }

  function refreshMoveButtons() {
    Array.prototype.forEach.call(planner.querySelectorAll('[data-list]'), function (list) {
      var items = Array.prototype.filter.call(list.children, function (li) {
        return li.matches('[data-item]');
      });
      items.forEach(function (li, index) {
        var card = li.querySelector(':scope > [data-action]');
        if (!card) return;
        var up = card.querySelector(':scope > header [data-move=up]');
        var down = card.querySelector(':scope > header [data-move=down]');
        if (up) up.disabled = index === 0;
        if (down) down.disabled = index === items.length - 1;
      });
    });
    var empty = planner.querySelector('[data-empty-note]');
    if (empty) empty.hidden = planner.querySelector('[data-action]') !== null;
  }

  function shape(list) {
    var out = [];
    Array.prototype.forEach.call(list.children, function (li) {
      var card = li.querySelector(':scope > [data-action]');
      if (!card) return;
      var node = { id: card.getAttribute('data-action') };
      // Each branch where the action keeps it: `yes` / `no`, or `paths[n - 1]` for `path<n>`.
      Array.prototype.forEach.call(card.querySelectorAll(':scope > [data-branches] > [data-branch]'), function (branch) {
        var key = branch.getAttribute('data-branch-key');
        var inner = branch.querySelector(':scope > [data-list]');
        var actions = inner ? shape(inner) : [];
        var path = /^path(\d)$/.exec(key);
        if (path) (node.paths = node.paths || [])[Number(path[1]) - 1] = actions;
        else node[key] = actions;
      });
      if (node.paths) for (var i = 0; i < node.paths.length; i++) node.paths[i] = node.paths[i] || [];
      out.push(node);
    });
    return out;
  }

  function treeChanged(detail) {
    planner.dispatchEvent(new CustomEvent('jr:tree-changed', { detail: detail || {} }));
  }

  function writeTree() {
    var flow = planner.querySelector('[data-flow] > [data-list]');
    planner.querySelector('[data-tree]').value = JSON.stringify(flow ? shape(flow) : []);
  }

  function flash(card) {
    card.classList.remove('jr-action--moved');
    void card.offsetWidth;
    card.classList.add('jr-action--moved');
  }

  function addAction(slotName, type) {
    var template = document.querySelector('template[data-action-template="' + type + '"]');
    var slot = planner.querySelector('[data-slot="' + slotName + '"]');
    if (!template || !slot) return false;
    var id = newId();
    var li = document.createElement('li');
    li.className = 'jr-item';
    li.setAttribute('data-item', '');
    // The template is server-rendered (escaped) markup; only the placeholder id changes.
    li.innerHTML = template.innerHTML.split('__ID__').join(id);
    if (slotName.indexOf('after.') === 0) {
      var item = slot.closest('[data-item]');
      item.parentNode.insertBefore(li, item.nextSibling);
    } else {
      var list = listOf(slot);
      list.insertBefore(li, list.firstChild);
    }
    slot.open = false;
    refreshMoveButtons();
    var card = li.querySelector('[data-action]');
    treeChanged({ added: card });
    flash(card);
    var first = card.querySelector('.jr-settings input:not([type=hidden]), .jr-settings select, .jr-settings textarea');
    (first || card.querySelector('[data-move]')).focus();
    markDirty();
    return true;
  }

  function moveAction(card, direction) {
    var li = card.closest('[data-item]');
    var sibling = direction === 'up' ? li.previousElementSibling : li.nextElementSibling;
    if (!sibling) return;
    if (direction === 'up') li.parentNode.insertBefore(li, sibling);
    else li.parentNode.insertBefore(sibling, li);
    refreshMoveButtons();
    treeChanged();
    flash(card);
    var button = card.querySelector(':scope > header [data-move=' + direction + ']');
    if (button && !button.disabled) button.focus();
    else card.querySelector(':scope > header [data-move]:not(:disabled)') && card.querySelector(':scope > header [data-move]:not(:disabled)').focus();
    markDirty();
  }

  function removeAction(card) {
    var label = card.querySelector('h3').textContent;
    var here = card.getAttribute('data-here') || '0';
    var inside = card.querySelectorAll('[data-action]').length;
    var question = 'Remove "' + label + '"' + (inside ? ' and the ' + inside + ' action(s) in its branches' : '') + '?';
    if (here !== '0') question += ' Subscribers at it will leave the journey when you save.';
    if (!window.confirm(question)) return;
    var li = card.closest('[data-item]');
    var slot = li.parentNode.previousElementSibling;
    var next = li.nextElementSibling || li.previousElementSibling;
    li.parentNode.removeChild(li);
    refreshMoveButtons();
    treeChanged();
    var target = next ? next.querySelector('[data-action] h3') : null;
    if (target) {
      target.setAttribute('tabindex', '-1');
      target.focus();
    } else if (slot && slot.querySelector) {
      var summary = slot.querySelector('summary');
      if (summary) summary.focus();
    }
    markDirty();
  }

  planner.addEventListener('click', function (event) {
    var button = event.target.closest('button[name=op]');
    if (!button || !planner.contains(button)) return;
    var op = button.value;
    var parts = op.split(':');
    var card = button.closest('[data-action]');
    var handled = false;
    if (parts[0] === 'add' && parts.length === 3) handled = addAction(parts[1], parts[2]);
    else if ((parts[0] === 'up' || parts[0] === 'down') && card) {
      moveAction(card, parts[0]);
      handled = true;
    } else if (parts[0] === 'remove' && card) {
      removeAction(card);
      handled = true;
    }
    if (handled) event.preventDefault();
  });

  planner.addEventListener('change', markDirty);
  planner.addEventListener('input', markDirty);

  // Saving a live journey (or one with paused subscribers at removed actions):
  // ask the server what the save would do and confirm here, instead of the
  // round trip to the confirmation banner that the page uses without script.
  var confirmedSave = false;
  planner.addEventListener('submit', function (event) {
    writeTree();
    var submitter = event.submitter;
    var isSave = submitter && submitter.name === 'op' && submitter.value === 'save';
    if (!isSave || confirmedSave || !window.fetch) {
      submitting = true;
      return;
    }
    event.preventDefault();
    var body = new URLSearchParams(new FormData(planner));
    var token = planner.querySelector('input[name=_csrf]');
    window
      .fetch(planner.getAttribute('action') + '/preview', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-csrf-token': token ? token.value : '' },
        body: body.toString(),
      })
      .then(function (response) {
        var json = (response.headers.get('content-type') || '').indexOf('application/json') !== -1;
        return response.ok && json ? response.json() : null;
      })
      .then(function (preview) {
        // Violations or anything unexpected: the server's page says what is wrong.
        var ask = preview && preview.violations === 0 && (preview.live || preview.affected > 0 || preview.reached > 0);
        if (ask) {
          // The server's words, as on the page it shows without JavaScript: who leaves, who runs each new action.
          var impact = preview.impact;
          var lines = impact.items.map(function (item) {
            return '\n- ' + (item.label ? item.label + ' (new): ' : '') + item.text + '.';
          });
          var question =
            (preview.live ? 'This journey is live. ' : 'Subscribers are paused inside this journey. ') +
            'Saving affects ' +
            impact.affected +
            (impact.nobody ? ': ' + impact.nobody + '.' : ':' + lines.join('')) +
            '\n\nSave the journey actions?';
          if (!window.confirm(question)) return;
          var confirmed = document.createElement('input');
          confirmed.type = 'hidden';
          confirmed.name = 'confirmed';
          confirmed.value = '1';
          planner.appendChild(confirmed);
        }
        confirmedSave = true;
        submitting = true;
        planner.requestSubmit(submitter);
      })
      .catch(function () {
        confirmedSave = true;
        submitting = true;
        planner.requestSubmit(submitter);
      });
  });

  // Only one "Add action" menu open at a time; Escape closes it.
  planner.addEventListener(
    'toggle',
    function (event) {
      var details = event.target;
      if (!details.matches || !details.matches('[data-slot]') || !details.open) return;
      Array.prototype.forEach.call(planner.querySelectorAll('[data-slot][open]'), function (other) {
        if (other !== details) other.open = false;
      });
    },
    true,
  );
  planner.addEventListener('keydown', function (event) {
    if (event.key !== 'Escape') return;
    var open = event.target.closest('[data-slot][open]');
    if (!open) return;
    open.open = false;
    open.querySelector('summary').focus();
  });

  // Enable / Disable post their own forms: the draft would be lost.
  Array.prototype.forEach.call(document.querySelectorAll('[data-status-button]'), function (button) {
    button.addEventListener('click', function (event) {
      if (dirty && !window.confirm('You have unsaved changes to the actions. Continue without saving them?')) event.preventDefault();
      else submitting = true;
    });
  });

  window.addEventListener('beforeunload', function (event) {
    if (dirty && !submitting) {
      event.preventDefault();
      event.returnValue = '';
    }
  });

  refreshMoveButtons();
})();
