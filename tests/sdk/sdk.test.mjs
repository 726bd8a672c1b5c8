// SPDX-License-Identifier: LGPL-2.1-or-later
// Drives the gemini-emulator program with the official Google Gen AI SDK:
// wherever the SDK and the emulator disagree, the emulator is wrong.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { GoogleGenAI, Type } from '@google/genai';

const emulatorPath = process.env.GEMINI_EMULATOR;
let emulator;
let ai;
let workdir;
let webmPath;

before(async () => {
  assert.ok(emulatorPath, 'GEMINI_EMULATOR must point at the gemini-emulator program');
  workdir = mkdtempSync(join(tmpdir(), 'gemini-sdk-'));
  webmPath = join(workdir, 'clip.webm');
  execFileSync('gst-launch-1.0', ['-q',
    'videotestsrc', 'num-buffers=20', '!',
    'video/x-raw,width=160,height=120,framerate=10/1', '!', 'vp8enc', 'deadline=1', '!', 'm.',
    'audiotestsrc', 'num-buffers=100', 'samplesperbuffer=960', '!',
    'audio/x-raw,rate=48000,channels=1', '!', 'opusenc', '!', 'm.',
    'webmmux', 'name=m', '!', 'filesink', `location=${webmPath}`]);
  assert.ok(statSync(webmPath).size > 1000);

  const script = join(workdir, 'script.json');
  writeFileSync(script, JSON.stringify({
    file_processing_polls: 1,
    transcript: {
      speakers: [{ id: 'alice', name: 'Alice Martin', company: 'Acme', position: 'CEO',
        role_in_video: 'host' }],
      utterances: [{ start: 0.5, end: 1.5, speaker: 'alice', text: 'Hello and welcome.' }],
    },
  }));
  emulator = spawn(emulatorPath, ['--port', '0', '--script', script],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: emulator.stdout });
  const url = await new Promise((resolve, reject) => {
    emulator.once('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
    lines.once('line', (line) => {
      const m = /^gemini-emulator listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
      m ? resolve(m[1]) : reject(new Error(`unexpected first line: ${line}`));
    });
  });
  ai = new GoogleGenAI({ apiKey: 'test-key', httpOptions: { baseUrl: url } });
});

after(() => {
  emulator?.kill('SIGTERM');
  if (workdir)
    rmSync(workdir, { recursive: true, force: true });
});

const schema = {
  type: Type.OBJECT,
  properties: {
    task1_transcripts: {
      type: Type.ARRAY,
      items: {
        type: Type.OBJECT,
        properties: {
          start: { type: Type.STRING },
          end: { type: Type.STRING },
          text: { type: Type.STRING },
          voice: { type: Type.INTEGER },
        },
        required: ['start', 'end', 'text', 'voice'],
      },
    },
    task2_speakers: {
      type: Type.ARRAY,
      items: {
        type: Type.OBJECT,
        properties: {
          voice: { type: Type.INTEGER },
          name: { type: Type.STRING },
        },
      },
    },
  },
  required: ['task1_transcripts', 'task2_speakers'],
};

test('upload, poll, generate, stream and delete with @google/genai', async () => {
  let file = await ai.files.upload({
    file: webmPath,
    config: { mimeType: 'video/webm', displayName: 'clip' },
  });
  assert.match(file.name, /^files\/[a-z0-9-]+$/);
  assert.equal(file.sizeBytes, String(statSync(webmPath).size));

  for (let i = 0; file.state !== 'ACTIVE' && i < 20; i++) {
    assert.notEqual(file.state, 'FAILED');
    file = await ai.files.get({ name: file.name });
  }
  assert.equal(file.state, 'ACTIVE');
  assert.equal(file.videoMetadata.videoDuration, '2s');

  const contents = [{
    role: 'user',
    parts: [
      { fileData: { fileUri: file.uri, mimeType: 'video/webm' },
        videoMetadata: { fps: 1, startOffset: '0s', endOffset: '2s' } },
      { text: 'List what is said, and who says it.' },
    ],
  }];
  const config = { responseMimeType: 'application/json', responseSchema: schema };

  const answer = await ai.models.generateContent({
    model: 'gemini-2.5-flash', contents, config,
  });
  const parsed = JSON.parse(answer.text);
  assert.equal(parsed.task1_transcripts.length, 1);
  assert.equal(parsed.task1_transcripts[0].text, 'Hello and welcome.');
  assert.equal(parsed.task1_transcripts[0].start, '00:01');
  assert.equal(parsed.task2_speakers[0].name, 'Alice Martin');
  assert.ok(answer.usageMetadata.promptTokenCount > 0);
  assert.equal(answer.candidates[0].finishReason, 'STOP');

  const stream = await ai.models.generateContentStream({
    model: 'gemini-2.5-flash', contents, config,
  });
  let text = '';
  let chunks = 0;
  let last;
  for await (const chunk of stream) {
    text += chunk.text ?? '';
    chunks++;
    last = chunk;
  }
  assert.ok(chunks > 1, `expected several chunks, got ${chunks}`);
  assert.deepEqual(JSON.parse(text), parsed);
  assert.equal(last.candidates[0].finishReason, 'STOP');
  assert.ok(last.usageMetadata.totalTokenCount > 0);

  await ai.files.delete({ name: file.name });
  await assert.rejects(ai.files.get({ name: file.name }), /403|PERMISSION_DENIED/);
});

test('errors come back as ApiError with the HTTP status', async () => {
  await assert.rejects(
    ai.models.generateContent({ model: 'gemini-0.1-nano', contents: 'hi' }),
    (err) => err.status === 404 && /is not found for API version v1/.test(err.message));
  const wrongKey = new GoogleGenAI({ apiKey: 'nope', httpOptions: { baseUrl: ai.apiClient.clientOptions.httpOptions.baseUrl } });
  await assert.rejects(
    wrongKey.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' }),
    (err) => err.status === 400 && /API key not valid/.test(err.message));
});

async function waitForBatch(name) {
  for (let i = 0; i < 400; i++) {
    const job = await ai.batches.get({ name });
    if (['JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED',
      'JOB_STATE_EXPIRED'].includes(job.state))
      return job;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  assert.fail(`batch ${name} never finished`);
}

test('batches: inline requests, get until done, inline responses; JSONL file in and out', async () => {
  const clip = (from, to) => [{
    role: 'user',
    parts: [{ text: `This clip covers ${from} to ${to} of the stream. List what is said.` }],
  }];
  const job = await ai.batches.create({
    model: 'gemini-2.5-flash',
    src: [
      { contents: clip('0:00:00.000', '0:00:02.000'), metadata: { key: 'first' },
        config: { responseMimeType: 'application/json', responseSchema: schema } },
      { contents: clip('0:00:02.000', '0:00:04.000'), metadata: { key: 'second' } },
    ],
    config: { displayName: 'sdk-inline' },
  });
  assert.match(job.name, /^batches\/[a-z0-9-]+$/);
  assert.equal(job.state, 'JOB_STATE_PENDING');
  assert.equal(job.displayName, 'sdk-inline');

  const done = await waitForBatch(job.name);
  assert.equal(done.state, 'JOB_STATE_SUCCEEDED');
  const responses = done.dest.inlinedResponses;
  assert.equal(responses.length, 2);
  assert.deepEqual(responses.map((r) => r.metadata.key), ['first', 'second']);
  // the SDK hands inlined responses over as plain objects, without the .text getter
  const textOf = (r) => r.response.candidates[0].content.parts[0].text;
  const first = JSON.parse(textOf(responses[0]));
  assert.equal(first.task1_transcripts[0].text, 'Hello and welcome.');
  assert.equal(first.task2_speakers[0].name, 'Alice Martin');
  assert.deepEqual(JSON.parse(textOf(responses[1])).task1_transcripts, []);

  const pager = await ai.batches.list({ config: { pageSize: 10 } });
  assert.ok(pager.page.some((j) => j.name === job.name));

  const jsonlPath = join(workdir, 'requests.jsonl');
  writeFileSync(jsonlPath, [
    { key: 'only', request: { contents: clip('0:00:00.000', '0:00:02.000') } },
  ].map((l) => JSON.stringify(l)).join('\n') + '\n');
  let input = await ai.files.upload({ file: jsonlPath, config: { mimeType: 'jsonl' } });
  for (let i = 0; input.state !== 'ACTIVE' && i < 20; i++)
    input = await ai.files.get({ name: input.name });
  // The Batch API reference marks displayName required (the SDK leaves it optional).
  const fileJob = await ai.batches.create({
    model: 'gemini-2.5-flash', src: input.name, config: { displayName: 'sdk-file' },
  });
  const fileDone = await waitForBatch(fileJob.name);
  assert.equal(fileDone.state, 'JOB_STATE_SUCCEEDED');
  assert.match(fileDone.dest.fileName, /^files\//);
  const resultsPath = join(workdir, 'results.jsonl');
  await ai.files.download({ file: fileDone.dest.fileName, downloadPath: resultsPath });
  const lines = readFileSync(resultsPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 1);
  assert.equal(lines[0].key, 'only');
  assert.match(lines[0].response.candidates[0].content.parts[0].text, /Hello and welcome/);

  await ai.batches.delete({ name: job.name });
  await assert.rejects(ai.batches.get({ name: job.name }), (err) => err.status === 404);
});
