#!/usr/bin/env node
// A Standard Webhooks receiver for hivejob's integration tests.
//
// usage: node receiver.js --log FILE [--secret whsec_...]... [--probe whsec_...]...
//                         [--mode MODE] [--host 127.0.0.1] [--port 0]
//
// Listens on host:port (port 0: any free port) and prints the port on stdout
// as its first and only line. Every request except the control endpoint is
// verified with the npm package standardwebhooks (pinned in package-lock.json):
// `new Webhook(secret).verify(rawBody, headers)` once per --secret, separately,
// and once per --probe (a secret that is recorded but need not verify, e.g. an
// expired previous secret). `verified` is true when every --secret verified.
// Each request becomes one JSON line in the log file, written before the
// answer is sent:
//
//   {"seq", "received_ms", "method", "path", "query", "headers", "body",
//    "signatures" (v1 entries in webhook-signature), "verified", "verified_by"
//    (indexes of the --secrets that verified), "errors" (per --secret, null or
//    the message), "probe_ok" (per --probe), "mode", "status"}
//
// How it answers: the first path segment names a mode (/500, /hang, ...);
// any other path takes the next mode queued through the control endpoint,
// else the default mode (--mode, or set through the control endpoint).
//
//   200, 500, 410     that status, a short JSON body
//   429, 503          that status with Retry-After: ?ra=N (default 7)
//   302               302 with Location: http://HOST:PORT/200?redirected=1
//   hang              never answers (past any client timeout)
//   endless, endless-500
//                     200 (or 500) with a chunked body that never ends
//   reset             the connection is reset (RST) once the body is read
//   close             req.socket.destroy() once the body is read: no reply
//
// Control: POST /_control with a JSON object, every member optional:
//   {"mode": "200", "queue": ["500", "500"], "secrets": [...], "probes": [...]}
// answers {"ok": true, "requests": N}; GET /_control answers the state.
// Control requests are not recorded.
"use strict";

const fs = require("fs");
const http = require("http");
const { Webhook } = require("standardwebhooks");

const MODES = new Set(["200", "500", "410", "429", "503", "302", "hang",
    "endless", "endless-500", "reset", "close"]);

function usage(msg) {
	process.stderr.write(`receiver: ${msg}\nusage: node receiver.js --log FILE ` +
	    "[--secret S]... [--probe S]... [--mode MODE] [--host H] [--port P]\n");
	process.exit(64);
}

const opt = { log: null, secrets: [], probes: [], mode: "200", host: "127.0.0.1", port: 0 };
{
	const a = process.argv.slice(2);
	for (let i = 0; i < a.length; i++) {
		const v = a[i + 1];
		if (v === undefined)
			usage(`${a[i]} needs a value`);
		switch (a[i]) {
		case "--log": opt.log = v; break;
		case "--secret": opt.secrets.push(v); break;
		case "--probe": opt.probes.push(v); break;
		case "--mode": opt.mode = v; break;
		case "--host": opt.host = v; break;
		case "--port": opt.port = Number(v); break;
		default: usage(`unknown option ${a[i]}`);
		}
		i++;
	}
	if (!opt.log)
		usage("--log is required");
	if (!MODES.has(opt.mode))
		usage(`unknown mode ${opt.mode}`);
}

const state = { mode: opt.mode, queue: [], secrets: opt.secrets, probes: opt.probes, seq: 0 };
const sockets = new Set();

function tryVerify(secret, body, headers) {
	try {
		new Webhook(secret).verify(body, headers);
		return null;
	} catch (e) {
		return String(e && e.message ? e.message : e);
	}
}

function record(req, body, url, mode, status) {
	const errors = state.secrets.map((s) => tryVerify(s, body, req.headers));
	const sig = req.headers["webhook-signature"];
	const line = {
		seq: ++state.seq,
		received_ms: Date.now(),
		method: req.method,
		path: url.pathname,
		query: url.search,
		headers: req.headers,
		body: body.toString("utf8"),
		signatures: typeof sig === "string" ?
		    sig.split(" ").filter((s) => s.startsWith("v1,")).length : 0,
		verified: errors.length > 0 && errors.every((e) => e === null),
		verified_by: errors.flatMap((e, i) => (e === null ? [i] : [])),
		errors,
		probe_ok: state.probes.map((s) => tryVerify(s, body, req.headers) === null),
		mode,
		status,
	};
	fs.appendFileSync(opt.log, JSON.stringify(line) + "\n");
}

function control(req, res, body) {
	let st = 200, out;
	if (req.method === "POST") {
		try {
			const c = JSON.parse(body.toString("utf8") || "{}");
			for (const m of [c.mode, ...(c.queue || [])])
				if (m !== undefined && !MODES.has(m))
					throw new Error(`unknown mode ${m}`);
			if (c.mode !== undefined)
				state.mode = c.mode;
			if (c.queue !== undefined)
				state.queue = c.queue.slice();
			if (c.secrets !== undefined)
				state.secrets = c.secrets.slice();
			if (c.probes !== undefined)
				state.probes = c.probes.slice();
			out = { ok: true, requests: state.seq };
		} catch (e) {
			st = 400;
			out = { ok: false, error: String(e.message) };
		}
	} else
		out = { ok: true, requests: state.seq, mode: state.mode, queue: state.queue };
	res.writeHead(st, { "Content-Type": "application/json", Connection: "close" });
	res.end(JSON.stringify(out));
}

function endless(res, status) {
	const chunk = Buffer.alloc(16384, "x");
	let sent = 0, closed = false;
	res.on("close", () => { closed = true; });
	res.writeHead(status, { "Content-Type": "text/plain" });	// chunked
	const pump = () => {
		// A bound all the same, should a client never stop reading.
		while (!closed && sent < 256 * 1024 * 1024) {
			sent += chunk.length;
			if (!res.write(chunk)) {
				res.once("drain", pump);
				return;
			}
		}
		if (!closed)
			res.end();
	};
	pump();
}

function answer(req, res, body) {
	const url = new URL(req.url, `http://${opt.host}`);
	if (url.pathname === "/_control")
		return control(req, res, body);

	const seg = url.pathname.split("/")[1] || "";
	let mode;
	if (MODES.has(seg))
		mode = seg;
	else if (state.queue.length > 0)
		mode = state.queue.shift();
	else
		mode = state.mode;
	const ra = url.searchParams.get("ra") || "7";
	const status = { "200": 200, "500": 500, "410": 410, "429": 429, "503": 503,
	    "302": 302, "endless": 200, "endless-500": 500 }[mode] || null;
	record(req, body, url, mode, status);

	const json = { "Content-Type": "application/json" };
	switch (mode) {
	case "200":
		res.writeHead(200, json);
		return res.end('{"ok":true}');
	case "500":
	case "410":
		res.writeHead(status, json);
		return res.end(`{"ok":false,"status":${status}}`);
	case "429":
	case "503":
		res.writeHead(status, { ...json, "Retry-After": ra });
		return res.end(`{"ok":false,"status":${status}}`);
	case "302":
		res.writeHead(302, { Location: `http://${opt.host}:${server.address().port}` +
		    "/200?redirected=1" });
		return res.end();
	case "hang":
		return;		// the client gives up; the socket goes when it does
	case "endless":
	case "endless-500":
		return endless(res, status);
	case "reset":
		if (typeof req.socket.resetAndDestroy === "function")
			return req.socket.resetAndDestroy();
		return req.socket.destroy();
	case "close":
		return req.socket.destroy();
	}
}

const server = http.createServer((req, res) => {
	const parts = [];
	let size = 0;
	req.on("data", (d) => {
		size += d.length;
		if (size <= 16 * 1024 * 1024)
			parts.push(d);
	});
	req.on("end", () => {
		try {
			answer(req, res, Buffer.concat(parts));
		} catch (e) {
			process.stderr.write(`receiver: ${e.stack}\n`);
			res.destroy();
		}
	});
});
server.keepAliveTimeout = 1000;
server.requestTimeout = 0;	// "hang" outlives any client timeout
server.on("connection", (s) => {
	sockets.add(s);
	s.on("close", () => sockets.delete(s));
});
server.on("error", (e) => {
	process.stderr.write(`receiver: ${e.message}\n`);
	process.exit(1);
});
server.listen(opt.port, opt.host, () => {
	process.stdout.write(`${server.address().port}\n`);
});

function stop() {
	for (const s of sockets)
		s.destroy();
	server.close();
	process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
