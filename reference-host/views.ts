/**
 * The host's Handlebars templates, kept in code so the compiled host needs no
 * asset copying. `{{ }}` escapes everything; only `content` (a page the host or
 * the plug-in rendered already) is inserted raw, as a SafeString made by
 * `renderedHtml`, so no template needs a triple-stash.
 */
import Handlebars from 'handlebars';

const hbs = Handlebars.create();
hbs.registerHelper('eq', (a: unknown, b: unknown) => a === b);

/** Marks a page that a template already rendered (its user values escaped) as HTML for the layout. */
export function renderedHtml(html: string): Handlebars.SafeString {
  return new hbs.SafeString(html);
}

export const HOST_CSS = `
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1f2933;background:#f4f6f8}
header.host-top{background:#1e3a5f;color:#fff;display:flex;align-items:center;gap:24px;padding:0 20px;height:52px}
header.host-top .brand{font-weight:700;font-size:16px}
nav.host-menu{display:flex;gap:4px;height:100%}
nav.host-menu .item{position:relative;display:flex;align-items:center}
nav.host-menu a,nav.host-menu span{color:#dbe7f3;text-decoration:none;padding:0 12px;height:52px;display:flex;align-items:center}
nav.host-menu .item.active>a,nav.host-menu .item.active>span{background:#2d5282;color:#fff}
nav.host-menu .sub{display:none;position:absolute;top:52px;left:0;background:#fff;min-width:190px;box-shadow:0 4px 12px rgba(0,0,0,.15);z-index:10}
nav.host-menu .item:hover .sub,nav.host-menu .item:focus-within .sub{display:block}
nav.host-menu .sub a{color:#1f2933;height:auto;padding:9px 14px}
nav.host-menu .sub a:hover{background:#eef2f7}
header.host-top .user{margin-left:auto;color:#dbe7f3}header.host-top .user a{color:#fff}
main.host-main{padding:24px;max-width:1200px;margin:0 auto}
table.host-table{border-collapse:collapse;background:#fff;width:100%;margin:12px 0 24px}
table.host-table th,table.host-table td{border-bottom:1px solid #e3e8ee;padding:8px 10px;text-align:left}
.login-box{max-width:420px;margin:80px auto;background:#fff;padding:28px;border-radius:6px;box-shadow:0 2px 10px rgba(0,0,0,.08)}
.flash{padding:10px 14px;border-radius:4px;margin:0 0 16px;border:1px solid}
.flash-ok{background:#e6f4ea;border-color:#9fd3ad;color:#1e4620}.flash-error{background:#fdecea;border-color:#f1a9a0;color:#611a15}
.try-it{display:flex;flex-wrap:wrap;gap:16px;margin:12px 0 24px}
.try-it form{background:#fff;border:1px solid #e3e8ee;border-radius:6px;padding:14px 16px;flex:1 1 320px}
.try-it h3{margin:0 0 10px;font-size:15px}
.try-it label{display:block;margin:0 0 8px}.try-it label span{display:block;font-size:12px;color:#52606d}
.try-it input,.try-it select{width:100%;padding:6px 8px;border:1px solid #cbd2d9;border-radius:4px;font:inherit}
.try-it fieldset{border:1px dashed #cbd2d9;border-radius:4px;margin:8px 0;padding:6px 10px}
.try-it .fields{display:grid;grid-template-columns:1fr 1fr;gap:0 10px}
button.host-button{padding:7px 14px;border:1px solid #2d5282;background:#2d5282;color:#fff;border-radius:4px;font:inherit;cursor:pointer}
form.inline{display:inline}form.inline select{padding:4px 6px}
.hint{color:#52606d}
.login-box button{display:block;width:100%;margin:8px 0;padding:10px;border:1px solid #2d5282;background:#2d5282;color:#fff;border-radius:4px;font-size:14px;cursor:pointer}
`;

export const layoutTemplate = hbs.compile(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}} · Reference Host</title>
<link rel="stylesheet" href="/host/assets/host.css">
{{#each stylesheets}}<link rel="stylesheet" href="{{this}}">
{{/each}}
</head>
<body>
<header class="host-top">
  <div class="brand">Reference Host</div>
  <nav class="host-menu" aria-label="Main menu">
    {{#each menu}}
    <div class="item{{#if active}} active{{/if}}">
      {{#if route}}<a href="{{route}}">{{title}}</a>{{else}}<span tabindex="0">{{title}}</span>{{/if}}
      {{#if children.length}}<div class="sub">{{#each children}}<a href="{{route}}"{{#if active}} aria-current="page"{{/if}}>{{title}}</a>{{/each}}</div>{{/if}}
    </div>
    {{/each}}
  </nav>
  <div class="user">{{#if user}}{{user.firstName}} {{user.lastName}} ({{user.emailAddress}}) · <a href="/logout">Log out</a>{{/if}}</div>
</header>
<main class="host-main">
{{content}}
</main>
{{#each scripts}}<script src="{{this}}" defer></script>
{{/each}}
</body>
</html>`);

export const loginTemplate = hbs.compile(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Log in · Reference Host</title><link rel="stylesheet" href="/host/assets/host.css"></head>
<body><div class="login-box">
<h1>Reference Host</h1>
<p>Pick a demo user to log in as.</p>
{{#if error}}<p class="flash flash-error" role="alert">{{error}}</p>
{{/if}}<form method="post" action="/login">
<input type="hidden" name="next" value="{{next}}">
{{#each users}}<button type="submit" name="UserID" value="{{userId}}">{{firstName}} {{lastName}} &lt;{{emailAddress}}&gt;</button>
{{/each}}
</form>
</div></body></html>`);

export const dashboardTemplate = hbs.compile(`<h1>Dashboard</h1>
{{#if flash}}<div class="flash flash-{{flash.kind}}" role="{{#if (eq flash.kind 'error')}}alert{{else}}status{{/if}}">{{flash.text}}</div>{{/if}}
<h2 id="try-it">Try it</h2>
<p class="hint">Subscribe or unsubscribe someone through the host's own subscription path: the list's autoresponders are recorded, the host fires its hooks and the journeys whose trigger fits enrol the subscriber. Then watch them in <a href="/journeys">Campaigns → Journeys</a>.</p>
<div class="try-it">
<form method="post" action="/dashboard/subscribe" aria-labelledby="try-subscribe">
  <h3 id="try-subscribe">Subscribe someone</h3>
  <input type="hidden" name="{{tryIt.csrfField}}" value="{{tryIt.csrfToken}}">
  <label><span>List</span><select name="ListID" required>{{#each tryIt.lists}}<option value="{{listId}}">{{name}}</option>{{/each}}</select></label>
  <label><span>Email address</span><input type="email" name="EmailAddress" required maxlength="250" placeholder="someone@example.com"></label>
  {{#if tryIt.fields.length}}<fieldset><legend>Custom fields (optional)</legend><div class="fields">
  {{#each tryIt.fields}}<label><span>{{label}}{{#if scope}} ({{scope}}){{/if}}</span><input type="text" name="{{name}}" maxlength="250"></label>{{/each}}
  </div></fieldset>{{/if}}
  <button type="submit" class="host-button">Subscribe</button>
</form>
<form method="post" action="/dashboard/unsubscribe" aria-labelledby="try-unsubscribe">
  <h3 id="try-unsubscribe">Unsubscribe</h3>
  <input type="hidden" name="{{tryIt.csrfField}}" value="{{tryIt.csrfToken}}">
  <label><span>List</span><select name="ListID" required>{{#each tryIt.lists}}<option value="{{listId}}">{{name}}</option>{{/each}}</select></label>
  <label><span>Email address</span><input type="email" name="EmailAddress" required maxlength="250" placeholder="someone@example.com"></label>
  <button type="submit" class="host-button">Unsubscribe</button>
</form>
</div>
<h2 id="recent-subscribers">Recent subscribers</h2>
{{#if tryIt.selectedEmail}}
<form method="get" action="/" class="inline">
  <label>Simulate opens and clicks of <select name="EmailID">{{#each tryIt.emails}}<option value="{{emailId}}"{{#if selected}} selected{{/if}}>{{name}}</option>{{/each}}</select></label>
  <button type="submit" class="host-button">Use this email</button>
</form>
<p class="hint">The links call the host's tracking URLs (<code>/track/open/…</code>, <code>/track/click/…</code>), as opening the email or clicking its link would.</p>
{{/if}}
<table class="host-table"><thead><tr><th>Subscriber</th><th>List</th><th>Status</th><th>Subscribed</th>{{#if tryIt.selectedEmail}}<th>Opens / clicks of “{{tryIt.selectedEmail.name}}”</th><th>Simulate</th>{{/if}}<th>Journeys</th></tr></thead><tbody>
{{#each tryIt.subscribers}}<tr><td>{{emailAddress}}</td><td>{{listName}}</td><td>{{status}}</td><td>{{subscribedAt}}</td>{{#if ../tryIt.selectedEmail}}<td>{{opens}} / {{clicks}}</td><td><a href="{{openUrl}}">simulate open</a> · <a href="{{clickUrl}}">simulate click</a></td>{{/if}}<td><a href="{{historyUrl}}">history</a></td></tr>
{{else}}<tr><td colspan="7">No subscribers yet.</td></tr>{{/each}}
</tbody></table>
<h2>Subscriber lists</h2>
<table class="host-table"><thead><tr><th>ListID</th><th>Name</th><th>Subscribed</th><th>Total</th></tr></thead><tbody>
{{#each lists}}<tr><td>{{listId}}</td><td>{{name}}</td><td>{{subscribed}}</td><td>{{total}}</td></tr>{{/each}}
</tbody></table>
<h2 id="sent-emails">Emails the host would have sent</h2>
<p class="hint">The journeys' Send Email actions land here instead of in an inbox. The simulate links call the tracking URLs with the message's id, as opening the email or clicking its link would.</p>
<table class="host-table"><thead><tr><th>When</th><th>Recipient</th><th>Email</th><th>Sent by</th><th>Status</th><th>Opens / clicks</th><th>Simulate</th></tr></thead><tbody>
{{#each sentEmails}}<tr><td>{{sentAt}}</td><td>{{emailAddress}}</td><td>{{emailName}}</td><td><a href="{{journeyUrl}}">journey #{{journeyId}}</a></td><td>{{status}}</td><td>{{opens}} / {{clicks}}</td><td>{{#if openUrl}}<a href="{{openUrl}}">simulate open</a> · <a href="{{clickUrl}}">simulate click</a>{{/if}}</td></tr>
{{else}}<tr><td colspan="7">None yet: a journey with a Send Email action sends here.</td></tr>{{/each}}
</tbody></table>
<h2>Autoresponders the host would have sent</h2>
<table class="host-table"><thead><tr><th>When</th><th>Autoresponder</th><th>List</th><th>Subscriber</th></tr></thead><tbody>
{{#each autoresponderLog}}<tr><td>{{scheduledFor}}</td><td>{{autoResponderName}}</td><td>{{listName}}</td><td>{{emailAddress}}</td></tr>{{else}}<tr><td colspan="4">None yet.</td></tr>{{/each}}
</tbody></table>`);

export const forbiddenTemplate = hbs.compile(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Forbidden · Reference Host</title><link rel="stylesheet" href="/host/assets/host.css"></head>
<body><div class="login-box">
<h1>Forbidden</h1>
<p>{{message}}</p>
<p><a href="/">Back to the dashboard</a></p>
</div></body></html>`);

export const campaignsTemplate = hbs.compile(`<h1>Campaigns</h1>
<table class="host-table"><thead><tr><th>CampaignID</th><th>Name</th><th>Email</th><th>Status</th></tr></thead><tbody>
{{#each campaigns}}<tr><td>{{CampaignID}}</td><td>{{CampaignName}}</td><td>{{EmailName}}</td><td>{{CampaignStatus}}</td></tr>{{/each}}
</tbody></table>
<h2>Autoresponders</h2>
<table class="host-table"><thead><tr><th>ID</th><th>Name</th><th>List</th><th>Email</th><th>When</th></tr></thead><tbody>
{{#each autoresponders}}<tr><td>{{AutoResponderID}}</td><td>{{AutoResponderName}}</td><td>{{ListName}}</td><td>{{EmailName}}</td><td>{{TriggerTimeType}}{{#if TriggerTime}} ({{TriggerTime}}){{/if}}</td></tr>{{/each}}
</tbody></table>`);
