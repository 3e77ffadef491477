// The service worker of the inspector's tablet (docs/OFFLINE.md), served at /sw.js by
// supervision.inspections.views.tablet.service_worker. Workbox (vendored by
// scripts/vendor_workbox.sh, loaded from our own static files) keeps the app shell, the
// inspector's pages and their static files, and runs the sync when the connection is back
// (Background Sync, where the browser has it; elsewhere the page sends on load and when online).
// Version {{ version }}.
"use strict";
var CONFIG = {{ config|safe }};
var PAGES = new RegExp(CONFIG.pages);

importScripts(CONFIG.workboxSw);
workbox.setConfig({
  debug: false,
  modulePathCb: function (name) {
    return CONFIG.modules[name];
  },
});
importScripts.apply(self, CONFIG.scripts);

var core = workbox.core;
var precaching = workbox.precaching;
var routing = workbox.routing;
var strategies = workbox.strategies;
var backgroundSync = workbox.backgroundSync;

core.setCacheNameDetails({ prefix: "supervision" });
self.skipWaiting();
core.clientsClaim();

// The static files of the shell and of the inspector's pages, fetched again when they change.
precaching.precacheAndRoute(CONFIG.precache);
precaching.cleanupOutdatedCaches();

// The inspector's pages: the network first (a poor signal gives up after a few seconds), else the
// copy kept when the page was last opened. Only a page that really came back is kept: never a
// redirect to the sign-in page in place of the tablet's shell.
var onlyPages = {
  cacheWillUpdate: function (options) {
    var response = options.response;
    return response && response.status === 200 && !response.redirected ? response : null;
  },
};
routing.registerRoute(function (options) {
  return (
    options.request.mode === "navigate" &&
    options.url.origin === self.location.origin &&
    PAGES.test(options.url.pathname)
  );
}, new strategies.NetworkFirst({ cacheName: CONFIG.pagesCache, networkTimeoutSeconds: 5, plugins: [onlyPages] }));

// Other static files (styles of other pages, images): kept as used, refreshed in the background.
routing.registerRoute(function (options) {
  return options.url.origin === self.location.origin && options.url.pathname.indexOf(CONFIG.staticUrl) === 0;
}, new strategies.StaleWhileRevalidate({ cacheName: CONFIG.staticCache }));

// A page of the tablet not kept yet, without a connection: the app shell, which has the day.
routing.setCatchHandler(function (options) {
  if (options.request.mode === "navigate") {
    return caches
      .open(CONFIG.pagesCache)
      .then(function (cache) {
        return cache.match(CONFIG.shell);
      })
      .then(function (response) {
        return response || Response.error();
      });
  }
  return Response.error();
});

function tellPages(summary) {
  return self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (pages) {
    pages.forEach(function (page) {
      page.postMessage({ type: "tablet-synced", summary: summary });
    });
  });
}

// Background Sync through Workbox's queue: its sync event (or, without Background Sync, its start-up
// replay) runs the same sync as the page. A run stopped by the connection fails, so the browser
// tries again later.
var queue = new backgroundSync.Queue("supervision-journals", {
  onSync: function () {
    return TabletSync.run({}).then(function (summary) {
      return tellPages(summary).then(function () {
        if (summary.problem === "offline" || summary.problem === "server") {
          throw new Error("not sent yet: " + summary.problem);
        }
      });
    });
  },
});

self.addEventListener("message", function (event) {
  if (event.data && event.data.type === "register-sync") {
    event.waitUntil(queue.registerSync());
  }
});
