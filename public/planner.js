/*
 * Journeys planner pages, progressive enhancement. Every page works without
 * this file (plain form posts); with it:
 *  - Create Journey / Journey Information show only the trigger's own fields;
 *  - forms marked data-confirm ask before they post (delete, disable);
 *  - the Action Planner adds, moves and removes actions and rules in the page
 *    instead of a round trip, narrows operators to the chosen attribute, and
 *    writes the tree shape into the `tree` field before the form posts;
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

  /* ---------- trigger forms ---------- */
  Array.prototype.forEach.call(root.querySelectorAll('[data-trigger-form]'), function (form) {
    var groups = form.querySelectorAll('[data-trigger-group]');
    function chosen() {
      var checked = form.querySelector('[data-trigger-choice]:checked');
      return checked ? checked.value : '';
    }
    function update() {
      var type = chosen();
      Array.prototype.forEach.call(groups, function (group) {
        var fits = group.getAttribute('data-trigger-group').split(' ').indexOf(type) !== -1;
        group.hidden = !fits;
      });
    }
    form.addEventListener('change', function (event) {
      var input = event.target;
      if (input.matches('[data-trigger-choice]')) update();
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
    update();
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

  var operators = {};
  try {
    operators = JSON.parse(planner.getAttribute('data-operators') || '{}');
  } catch (e) {
    operators = {};
  }
  var VALUELESS = ['is_set', 'is_not_set'];
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
      if (card.getAttribute('data-type') === 'condition') {
        var id = node.id;
        var yes = card.querySelector('[data-branch="yes.' + id + '"] > [data-list]');
        var no = card.querySelector('[data-branch="no.' + id + '"] > [data-list]');
        node.yes = yes ? shape(yes) : [];
        node.no = no ? shape(no) : [];
      }
      out.push(node);
    });
    return out;
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

  function renumberRule(rule, from, to) {
    Array.prototype.forEach.call(rule.querySelectorAll('[name],[id],[for],[value]'), function (el) {
      ['name', 'id', 'for'].forEach(function (attr) {
        var v = el.getAttribute(attr);
        if (v) el.setAttribute(attr, v.replace('.rule.' + from + '.', '.rule.' + to + '.').replace('-r' + from + '-', '-r' + to + '-'));
      });
      if (el.matches('[data-remove-rule]')) el.value = el.value.replace(/:\d+$/, ':' + to);
    });
    rule.setAttribute('data-rule', String(to));
  }

  function refreshRuleButtons(rules) {
    var all = rules.querySelectorAll(':scope > [data-rule]');
    Array.prototype.forEach.call(all, function (rule) {
      var button = rule.querySelector('[data-remove-rule]');
      if (button) button.disabled = all.length < 2;
    });
  }

  function addRule(card) {
    var rules = card.querySelector(':scope > .jr-settings [data-rules]');
    var last = rules && rules.querySelector(':scope > [data-rule]:last-child');
    if (!last) return false;
    var max = 0;
    Array.prototype.forEach.call(rules.querySelectorAll(':scope > [data-rule]'), function (r) {
      max = Math.max(max, Number(r.getAttribute('data-rule')));
    });
    var copy = last.cloneNode(true);
    renumberRule(copy, last.getAttribute('data-rule'), max + 1);
    var value = copy.querySelector('[data-rule-value]');
    if (value) value.value = '';
    rules.appendChild(copy);
    refreshRuleButtons(rules);
    copy.querySelector('[data-rule-attribute]').focus();
    markDirty();
    return true;
  }

  function removeRule(rule) {
    var rules = rule.parentNode;
    if (rules.querySelectorAll(':scope > [data-rule]').length < 2) return;
    var previous = rule.previousElementSibling || rule.nextElementSibling;
    rules.removeChild(rule);
    refreshRuleButtons(rules);
    if (previous) previous.querySelector('[data-rule-attribute]').focus();
    markDirty();
  }

  function updateRule(rule, attributeChanged) {
    var attribute = rule.querySelector('[data-rule-attribute]');
    var operator = rule.querySelector('[data-rule-operator]');
    var value = rule.querySelector('[data-rule-value]');
    var emails = rule.querySelector('[data-rule-emails]');
    var kind = attribute.options[attribute.selectedIndex].getAttribute('data-kind') || 'text';
    if (attributeChanged && operators[kind]) {
      var current = operator.value;
      operator.innerHTML = '';
      operators[kind].forEach(function (pair) {
        var option = document.createElement('option');
        option.value = pair[0];
        option.textContent = pair[1];
        if (pair[0] === current) option.selected = true;
        operator.appendChild(option);
      });
    }
    if (emails) emails.hidden = kind !== 'activity';
    if (value) {
      value.hidden = VALUELESS.indexOf(operator.value) !== -1;
      value.placeholder = kind === 'date' ? 'YYYY-MM-DD' : kind === 'activity' ? 'times' : 'value';
      value.inputMode = kind === 'number' || kind === 'activity' ? 'decimal' : 'text';
    }
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
    } else if (parts[0] === 'add-rule' && card) handled = addRule(card);
    else if (parts[0] === 'remove-rule') {
      removeRule(button.closest('[data-rule]'));
      handled = true;
    }
    if (handled) event.preventDefault();
  });

  planner.addEventListener('change', function (event) {
    var rule = event.target.closest('[data-rule]');
    if (rule) updateRule(rule, event.target.matches('[data-rule-attribute]'));
    markDirty();
  });
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
        var ask = preview && preview.violations === 0 && (preview.live || preview.affected > 0);
        if (ask) {
          var who = preview.affected === 1 ? '1 subscriber is' : preview.affected + ' subscribers are';
          var question =
            (preview.live ? 'This journey is live. ' : 'Subscribers are paused inside this journey. ') +
            (preview.affected > 0
              ? 'Saving affects ' + who.replace(' is', '').replace(' are', '') + ': ' + who + ' at actions this change removes and will leave the journey.'
              : 'Saving affects 0 subscribers: nobody is at an action this change removes.') +
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
