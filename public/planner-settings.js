/*
 * Journeys planner pages, progressive enhancement of the settings inside the
 * cards (planner.js handles the tree of cards). Every page works without this
 * file; with it:
 *  - a condition's rules and a goal's rule narrow their operators to the
 *    chosen attribute, and the planner adds and removes rules in the page;
 *  - a Random split adds and removes paths in the page (percentages shared
 *    evenly again, like the server does) and shows its total as you type;
 *  - a Wait for event shows only its event's fields, offers "the email sent
 *    by" the Send Email actions that come before it as the tree changes
 *    (`jr:tree-changed` from planner.js), and a new one waits for the
 *    nearest of them, like the server does.
 * No framework, no inline script (the pages' Content-Security-Policy forbids it).
 */
(function () {
  'use strict';

  var root = document.querySelector('[data-journeys]');
  if (!root) return;

  /** Tells planner.js the draft changed (it marks the page dirty). */
  function changed(element) {
    element.dispatchEvent(new Event('input', { bubbles: true }));
  }

  /* ---------- condition rules (planner) and goal rules (forms) ---------- */
  var VALUELESS = ['is_set', 'is_not_set'];

  function operatorsOf(element) {
    var holder = element.closest('[data-operators]');
    try {
      return JSON.parse((holder && holder.getAttribute('data-operators')) || '{}');
    } catch (e) {
      return {};
    }
  }

  function updateRule(rule, attributeChanged) {
    var attribute = rule.querySelector('[data-rule-attribute]');
    var operator = rule.querySelector('[data-rule-operator]');
    var value = rule.querySelector('[data-rule-value]');
    var emails = rule.querySelector('[data-rule-emails]');
    var kind = attribute.options[attribute.selectedIndex].getAttribute('data-kind') || 'text';
    var operators = operatorsOf(rule);
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

  root.addEventListener('change', function (event) {
    var rule = event.target.closest('[data-rule]');
    if (rule && (event.target.matches('[data-rule-attribute]') || event.target.matches('[data-rule-operator]'))) {
      updateRule(rule, event.target.matches('[data-rule-attribute]'));
    }
  });

  /* ---------- action planner ---------- */
  var planner = root.querySelector('[data-planner]');
  if (!planner) return;

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
    changed(rules);
    return true;
  }

  function removeRule(rule) {
    var rules = rule.parentNode;
    if (rules.querySelectorAll(':scope > [data-rule]').length < 2) return;
    var previous = rule.previousElementSibling || rule.nextElementSibling;
    rules.removeChild(rule);
    refreshRuleButtons(rules);
    if (previous) previous.querySelector('[data-rule-attribute]').focus();
    changed(rules);
  }

  /* ---------- Random split ---------- */
  var MIN_PATHS = 2;
  var MAX_PATHS = 5;

  function letter(n) {
    return String.fromCharCode(65 + n);
  }

  function evenPercents(count) {
    var base = Math.floor(100 / count);
    var out = [];
    for (var i = 0; i < count; i++) out.push(base + (i < 100 - base * count ? 1 : 0));
    return out;
  }

  function splitParts(card) {
    var rows = card.querySelector(':scope > .jr-settings [data-split-paths]');
    var branches = card.querySelector(':scope > [data-branches]');
    return {
      rows: rows,
      branches: branches,
      rowList: rows ? Array.prototype.slice.call(rows.querySelectorAll(':scope > [data-split-path]')) : [],
      branchList: branches ? Array.prototype.slice.call(branches.querySelectorAll(':scope > [data-branch]')) : [],
    };
  }

  function refreshSplitTotal(card) {
    var parts = splitParts(card);
    var total = 0;
    parts.rowList.forEach(function (row, n) {
      var value = row.querySelector('[data-split-percent]').value.trim();
      if (/^\d+$/.test(value)) total += Number(value);
      var shown = parts.branchList[n] && parts.branchList[n].querySelector('[data-branch-percent]');
      if (shown) shown.textContent = value + '%';
    });
    var status = card.querySelector(':scope > .jr-settings [data-split-total]');
    if (!status) return;
    var strong = document.createElement('strong');
    strong.textContent = total + '%';
    status.textContent = 'Total: ';
    status.appendChild(strong);
    if (total !== 100) {
      var warn = document.createElement('span');
      warn.className = 'jr-error-text';
      warn.textContent = ' (must be 100%)';
      status.appendChild(warn);
    }
  }

  /** Gives rows and branches the numbers, names and slots of their position (after an add or a remove). */
  function renumberSplit(card) {
    var id = card.getAttribute('data-action');
    var parts = splitParts(card);
    parts.rowList.forEach(function (row, n) {
      row.setAttribute('data-split-path', String(n));
      var label = row.querySelector('[data-split-label]');
      label.textContent = 'Path ' + letter(n);
      label.htmlFor = 'a-' + id + '-p' + n;
      row.querySelector('[data-split-percent]').id = 'a-' + id + '-p' + n;
      var remove = row.querySelector('[data-remove-path]');
      remove.value = 'remove-path:' + id + ':' + n;
      remove.disabled = parts.rowList.length <= MIN_PATHS;
      row.querySelector('[data-split-remove-label]').textContent = 'Remove path ' + letter(n) + ' and its actions';
    });
    parts.branchList.forEach(function (branch, n) {
      var slot = 'path' + (n + 1) + '.' + id;
      branch.setAttribute('data-branch', slot);
      branch.setAttribute('data-branch-key', 'path' + (n + 1));
      branch.setAttribute('aria-label', 'Path ' + letter(n) + ' branch');
      branch.querySelector('[data-branch-name]').textContent = 'Path ' + letter(n);
      var menu = branch.querySelector(':scope > [data-slot]');
      menu.setAttribute('data-slot', slot);
      Array.prototype.forEach.call(menu.querySelectorAll('button[name=op]'), function (button) {
        button.value = button.value.replace(/^add:[^:]+:/, 'add:' + slot + ':');
      });
    });
    if (parts.branches) parts.branches.className = parts.branches.className.replace(/jr-branches--\d+/, 'jr-branches--' + parts.branchList.length);
    var add = card.querySelector(':scope > .jr-settings [data-add-path]');
    if (add) add.disabled = parts.rowList.length >= MAX_PATHS;
    refreshSplitTotal(card);
  }

  function shareEvenly(card) {
    var rows = splitParts(card).rowList;
    var percents = evenPercents(rows.length);
    rows.forEach(function (row, n) {
      row.querySelector('[data-split-percent]').value = String(percents[n]);
    });
  }

  function addPath(card) {
    var parts = splitParts(card);
    var template = document.querySelector('template[data-branch-template]');
    if (!parts.rows || !parts.branches || !template || parts.rowList.length === 0) return false;
    if (parts.rowList.length >= MAX_PATHS) return true;
    var n = parts.rowList.length;
    parts.rows.appendChild(parts.rowList[n - 1].cloneNode(true));
    var holder = document.createElement('div');
    // Server-rendered (escaped) markup; only the placeholders change, then renumberSplit names everything.
    holder.innerHTML = template.innerHTML
      .split('__KEY__')
      .join('path' + (n + 1))
      .split('__ID__')
      .join(card.getAttribute('data-action'))
      .split('__LABEL__')
      .join('Path ' + letter(n))
      .split('__PERCENT__')
      .join('');
    parts.branches.appendChild(holder.firstElementChild);
    shareEvenly(card);
    renumberSplit(card);
    splitParts(card).rowList[n].querySelector('[data-split-percent]').focus();
    changed(card);
    return true;
  }

  function removePath(card, n) {
    var parts = splitParts(card);
    if (parts.rowList.length <= MIN_PATHS || !parts.rowList[n]) return;
    var inside = parts.branchList[n] ? parts.branchList[n].querySelectorAll('[data-action]').length : 0;
    if (inside && !window.confirm('Remove path ' + letter(n) + ' and the ' + inside + ' action(s) in it?')) return;
    parts.rowList[n].remove();
    if (parts.branchList[n]) parts.branchList[n].remove();
    shareEvenly(card);
    renumberSplit(card);
    var rows = splitParts(card).rowList;
    rows[Math.max(0, n - 1)].querySelector('[data-split-percent]').focus();
    refreshSenders();
    changed(card);
  }

  /* ---------- Wait for event ---------- */
  function waitSettings(card) {
    return card.querySelector(':scope > .jr-settings');
  }

  function showEventFields(card) {
    var settings = waitSettings(card);
    var type = settings.querySelector('[data-event-type]').value;
    Array.prototype.forEach.call(settings.querySelectorAll('[data-event-group]'), function (group) {
      group.hidden = group.getAttribute('data-event-group') !== type;
    });
  }

  /** The Send Email cards that run before this card on every way to it, nearest last. */
  function sendersBefore(card) {
    var out = [];
    var item = card.closest('[data-item]');
    while (item) {
      var level = [];
      for (var prev = item.previousElementSibling; prev; prev = prev.previousElementSibling) {
        var other = prev.querySelector(':scope > [data-action]');
        if (other && other.getAttribute('data-type') === 'send_email') level.unshift(other);
      }
      out = level.concat(out);
      var branch = item.parentNode.closest('[data-branch]');
      item = branch ? branch.closest('[data-item]') : null;
    }
    return out;
  }

  function senderLabel(sender) {
    var select = sender.querySelector('[data-sender-email]');
    var option = select && select.value ? select.options[select.selectedIndex] : null;
    return option ? 'Send Email \u201c' + (option.getAttribute('data-name') || option.textContent) + '\u201d' : 'Send Email (no email chosen yet)';
  }

  /** Rebuilds a Wait for event's "the email sent by" choices; a choice no longer before it stays, named as such, for the server to refuse. */
  function refreshSendersOf(card, pickNearest) {
    var settings = waitSettings(card);
    var select = settings.querySelector('[data-senders]');
    if (!select) return;
    var current = select.value;
    var senders = sendersBefore(card);
    var ids = senders.map(function (sender) {
      return sender.getAttribute('data-action');
    });
    select.innerHTML = '';
    senders.forEach(function (sender, i) {
      select.appendChild(new Option(senderLabel(sender), ids[i], false, ids[i] === current));
    });
    if (current && ids.indexOf(current) === -1) {
      select.appendChild(new Option('\u201c' + current + '\u201d: not a Send Email before this action', current, false, true));
    }
    if ((pickNearest || !current) && ids.length) select.value = ids[ids.length - 1];
    if (pickNearest && ids.length) settings.querySelector('[data-target-sent-by]').checked = true;
    settings.querySelector('[data-no-senders]').hidden = ids.length > 0;
  }

  function refreshSenders() {
    Array.prototype.forEach.call(planner.querySelectorAll('[data-action][data-type="wait_for_event"]'), function (card) {
      refreshSendersOf(card, false);
    });
  }

  planner.addEventListener('jr:tree-changed', function (event) {
    var added = event.detail && event.detail.added;
    refreshSenders();
    if (added && added.getAttribute('data-type') === 'wait_for_event') {
      refreshSendersOf(added, true);
      showEventFields(added);
    }
  });

  planner.addEventListener('change', function (event) {
    var target = event.target;
    var card = target.closest('[data-action]');
    if (!card) return;
    if (target.matches('[data-sender-email]')) refreshSenders();
    if (target.matches('[data-event-type]')) showEventFields(card);
    // Choosing a sender or ticking an email says which way the email is named.
    var settings = waitSettings(card);
    if (target.matches('[data-senders]')) settings.querySelector('[data-target-sent-by]').checked = true;
    if (target.closest('[data-target-emails]') && target.checked) {
      var chosen = settings.querySelector('input[value="chosen"][name$=".emailTarget"]');
      if (chosen) chosen.checked = true;
    }
  });

  planner.addEventListener('input', function (event) {
    if (event.target.matches('[data-split-percent]')) refreshSplitTotal(event.target.closest('[data-action]'));
  });

  planner.addEventListener('click', function (event) {
    var button = event.target.closest('button[name=op]');
    if (!button || !planner.contains(button)) return;
    var parts = button.value.split(':');
    var card = button.closest('[data-action]');
    var handled = false;
    if (parts[0] === 'add-rule' && card) handled = addRule(card);
    else if (parts[0] === 'remove-rule') {
      removeRule(button.closest('[data-rule]'));
      handled = true;
    } else if (parts[0] === 'add-path' && card) handled = addPath(card);
    else if (parts[0] === 'remove-path' && card) {
      removePath(card, Number(parts[2]));
      handled = true;
    }
    if (handled) event.preventDefault();
  });

  Array.prototype.forEach.call(planner.querySelectorAll('[data-action][data-type="wait_for_event"]'), showEventFields);
})();
