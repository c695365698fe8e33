// The practice page: pick a question, answer it, show the graded report. No build step, no CDN.
"use strict";

const TOPIC_NAMES = {
  "fundamentals": "基础知识", "attention": "注意力机制", "architecture": "模型结构",
  "positional-encoding": "位置编码", "tokenization": "分词", "model-families": "主流模型",
  "moe": "混合专家（MoE）", "long-context": "长上下文", "multimodal": "多模态", "pretraining": "预训练",
  "training-efficiency": "训练效率", "distributed": "分布式训练", "fine-tuning": "微调",
  "peft": "参数高效微调", "inference": "推理", "quantization-compression": "量化与压缩",
  "decoding": "解码策略", "deployment": "部署", "alignment": "对齐", "reinforcement-learning": "强化学习",
  "reasoning": "推理能力", "hallucination": "幻觉", "rag": "检索增强（RAG）", "agents": "智能体",
  "prompting": "提示工程", "evaluation": "评测", "safety": "安全", "system-design": "系统设计",
  "coding": "编程", "open-questions": "开放问题",
};
const LEVELS = { met: "✔ 已答到", partial: "◐ 部分答到", missing: "✘ 未答到" };
const BANDS = {
  excellent: "优秀", good: "良好", fair: "及格", weak: "较弱", poor: "很差",
  unscored: "无法评分", unmatched: "未匹配到题目",
};

const $ = (id) => document.getElementById(id);
let questions = [];       // the current topic's questions
let current = null;       // the chosen question id

function topicName(t) { return TOPIC_NAMES[t] || t; }

function setStatus(text, isError) {
  $("status").textContent = text;
  $("status").classList.toggle("error", Boolean(isError));
}

function token() {
  return sessionStorage.getItem("evaluator-token") || "";
}

async function api(path, options) {
  const opts = Object.assign({ headers: {} }, options || {});
  opts.headers = Object.assign({ "Accept": "application/json" }, opts.headers);
  if (token()) opts.headers["Authorization"] = "Bearer " + token();
  const res = await fetch(path, opts);
  let body = null;
  try { body = await res.json(); } catch (e) { body = null; }
  if (res.status === 401) {
    $("token-box").hidden = false;
    $("token").focus();
  }
  if (!res.ok) {
    const err = new Error((body && body.error && body.error.message) || ("HTTP " + res.status));
    err.status = res.status;
    err.body = body;
    throw err;
  }
  return body;
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

async function loadTopics() {
  const data = await api("/v1/questions?limit=1");
  const select = $("topic");
  for (const t of data.topics) {
    const opt = el("option", null, topicName(t));
    opt.value = t;
    select.appendChild(opt);
  }
}

async function loadQuestions() {
  const params = new URLSearchParams({ limit: "1000" });
  if ($("topic").value) params.set("topic", $("topic").value);
  if ($("search").value.trim()) params.set("q", $("search").value.trim());
  const data = await api("/v1/questions?" + params.toString());
  questions = data.questions;
  const select = $("question");
  select.textContent = "";
  for (const q of questions) {
    const opt = el("option", null, q.question);
    opt.value = q.id;
    select.appendChild(opt);
  }
  if (!questions.length) {
    showQuestion(null);
    $("question-text").textContent = "没有找到相关题目";
    return;
  }
  showQuestion(questions[0].id);
}

function showQuestion(id) {
  current = id;
  const q = questions.find((x) => x.id === id);
  $("question").value = id || "";
  $("question-text").textContent = q ? q.question : "";
  $("question-meta").textContent = q ? (topicName(q.topic) + " · 难度 " + "★".repeat(q.difficulty)) : "";
  $("question-text").dataset.id = id || "";
  $("report").hidden = true;
  $("reference-box").hidden = true;
  setStatus("");
}

async function randomQuestion() {
  const params = new URLSearchParams();
  if ($("topic").value) params.set("topic", $("topic").value);
  const q = await api("/v1/questions/random?" + params.toString());
  if (!questions.find((x) => x.id === q.id)) {
    $("search").value = "";
    await loadQuestions();
  }
  showQuestion(q.id);
}

// The blend as a sum of every part times its share, so the numbers add up to the score shown:
// (1 − β)·(α·rubric + (1 − α)·similarity) + β·anchor − penalty, clipped to 0–100.
function partsLine(ev) {
  const p = ev.parts;
  if (!p) return "";
  const beta = p.anchor === null || p.anchor === undefined ? 0 : p.anchor_weight;
  const terms = [
    ["评分要点", p.rubric, (1 - beta) * p.alpha],
    ["与参考答案的接近度", p.similarity, (1 - beta) * (1 - p.alpha)],
  ];
  if (beta > 0) terms.push(["与评分样例对比", p.anchor, beta]);
  let total = 0;
  const text = terms.map(([name, value, share]) => {
    total += value * share;
    return name + " " + value.toFixed(1) + " × " + share.toFixed(2);
  }).join(" + ");
  total -= p.error_penalty || 0;
  const penalty = p.error_penalty ? " − 错误说法扣分 " + p.error_penalty : "";
  const clipped = Math.abs(total - ev.score) > 0.2 ? "（截断到 0–100）" : "";
  return text + penalty + " = " + ev.score.toFixed(1) + clipped;
}

function similaritiesLine(ev) {
  const parts = ev.criteria
    .filter((c) => c.similarity !== null && c.similarity !== undefined)
    .map((c) => c.id + " " + c.similarity.toFixed(2) + "（基线 " + c.baseline.toFixed(2) + "）");
  return parts.length ? "各要点最相近句子的相似度：" + parts.join("，") : "";
}

// Whole points as the CLI and the Markdown report print them (Python rounds a half to even: 80.5 -> 80).
function wholePoints(x) {
  const r = Math.round(x);
  return x - Math.floor(x) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function renderReport(ev) {
  $("report").hidden = false;
  const score = ev.score === null || ev.score === undefined ? "—" : String(wholePoints(ev.score));
  $("score").textContent = score;
  $("score").dataset.score = ev.score === null || ev.score === undefined ? "" : String(ev.score);
  $("band").textContent = BANDS[ev.band] || ev.band;
  $("unscored").textContent = ev.unscored_reason ? "原因：" + ev.unscored_reason : "";
  $("parts").textContent = partsLine(ev);
  $("similarities").textContent = similaritiesLine(ev);
  $("judge").textContent = "评分器：" + ev.judge;
  $("details-box").hidden = !ev.parts;
  $("origin").textContent = originLine(ev);
  lastEvaluation = ev.evaluation_id || null;
  $("my-grade-box").hidden = !lastEvaluation;

  const list = $("criteria");
  list.textContent = "";
  for (const c of ev.criteria) {
    const li = el("li", c.level);
    li.appendChild(el("span", "level", LEVELS[c.level] || c.level));
    li.appendChild(el("span", "desc", c.description + "（权重 " + c.weight + "）"));
    if (c.evidence) li.appendChild(el("blockquote", "evidence", "“" + c.evidence + "”"));
    if (c.comment) li.appendChild(el("div", "meta", c.comment));
    list.appendChild(li);
  }
  const errors = $("errors");
  errors.textContent = "";
  for (const e of ev.errors) errors.appendChild(el("li", null, e));
  $("errors-box").hidden = ev.errors.length === 0;
  $("feedback").textContent = ev.feedback || "";
  $("feedback-box").hidden = !ev.feedback;
  $("candidates-box").hidden = true;
  $("details-box").hidden = !ev.parts;
}

const ORIGINS = {
  user: "你自己题库中的题目。",
  "user-override": "你自己题库中的题目（替代了内置题库中同编号的题目）。",
  given: "按你给出的参考答案评分，评分细则由参考答案自动生成（非人工编写）。",
  drafted: "题库中没有这道题：参考答案和评分细则由 LLM 评分模型起草（非人工编写）。",
};

function originLine(ev) {
  const parts = [];
  if (ORIGINS[ev.question_source]) parts.push(ORIGINS[ev.question_source]);
  else if (ev.auto_rubric) parts.push("评分细则由参考答案自动生成（非人工编写）。");
  if (ev.user_anchors) parts.push("你评过分的 " + ev.user_anchors + " 个回答参与了这次评分。");
  return parts.join(" ");
}

let lastEvaluation = null;

async function sendGrade() {
  const value = $("my-grade").value.trim();
  const grade = Number(value);
  if (!lastEvaluation) return;
  if (value === "" || !Number.isFinite(grade) || grade < 0 || grade > 100) {
    setStatus("评分要是 0 到 100 之间的数。", true);
    return;
  }
  const reply = await api("/v1/feedback", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ evaluation_id: lastEvaluation, grade: grade, note: $("my-note").value }),
  });
  setStatus(reply.stored
    ? "已记下你的评分。你对这道题评过分的回答共 " + reply.graded_answers + " 个，下次评分就会用上。"
    : "这份评分之前已经记下了。");
}

function renderCandidates(candidates) {
  $("report").hidden = false;
  $("score").textContent = "—";
  $("score").dataset.score = "";
  $("band").textContent = BANDS.unmatched;
  $("unscored").textContent = "没有足够把握判断这是哪道题，未评分。请从下面选择题目：";
  $("details-box").hidden = true;
  $("criteria").textContent = "";
  $("errors-box").hidden = true;
  $("feedback-box").hidden = true;
  $("origin").textContent = "";
  $("my-grade-box").hidden = true;
  const ul = $("candidates");
  ul.textContent = "";
  for (const c of candidates) {
    // One click grades the same answer against the chosen question.
    const li = el("li", null);
    const pick = el("button", "pick", c.question + "（" + c.id + "）");
    pick.type = "button";
    pick.addEventListener("click", () => { current = c.id; submit(); });
    li.appendChild(pick);
    ul.appendChild(li);
  }
  $("candidates-box").hidden = false;
}

async function submit() {
  const answer = $("answer").value;
  const ownQuestion = $("own-question").value.trim();
  const ownReference = $("own-reference").value.trim();
  if (!answer.trim()) { setStatus("请先写下你的回答。", true); return; }
  if (ownReference && !ownQuestion) { setStatus("参考答案要配上它回答的题目。", true); return; }
  if (!current && !ownQuestion) { setStatus("请先选择一道题。", true); return; }
  // Your own question (with or without a reference) is graded instead of the picked one.
  const body = ownQuestion
    ? Object.assign({ answer: answer, question: ownQuestion }, ownReference ? { reference: ownReference } : {})
    : { answer: answer, question_id: current };
  $("submit").disabled = true;
  setStatus("评分中……");
  try {
    const ev = await api("/v1/evaluate", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    renderReport(ev);
    setStatus("评分完成。");
  } catch (err) {
    if (err.status === 422 && err.body && err.body.error && err.body.error.candidates) {
      renderCandidates(err.body.error.candidates);
      setStatus("");
    } else {
      setStatus("出错了：" + err.message, true);
    }
  } finally {
    $("submit").disabled = false;
  }
}

async function reveal() {
  if (!current) return;
  try {
    const q = await api("/v1/questions/" + encodeURIComponent(current) + "?reveal=true");
    $("reference").textContent = q.reference || "";
    $("reference-box").hidden = false;
  } catch (err) {
    setStatus("出错了：" + err.message, true);
  }
}

function wrap(fn) {
  return () => fn().catch((err) => setStatus("出错了：" + err.message, true));
}

let searchTimer = null;

async function start() {
  $("topic").addEventListener("change", wrap(loadQuestions));
  $("question").addEventListener("change", () => showQuestion($("question").value));
  $("random").addEventListener("click", wrap(randomQuestion));
  $("submit").addEventListener("click", wrap(submit));
  $("reveal").addEventListener("click", wrap(reveal));
  $("send-grade").addEventListener("click", wrap(sendGrade));
  $("search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(wrap(loadQuestions), 300);
  });
  $("answer").addEventListener("input", () => {
    $("count").textContent = $("answer").value.length + " / 20000 字";
  });
  $("token").addEventListener("change", () => {
    sessionStorage.setItem("evaluator-token", $("token").value.trim());
    wrap(init)();
  });
  await init();
}

async function init() {
  try {
    if ($("topic").options.length <= 1) await loadTopics();
    await loadQuestions();
    document.body.dataset.ready = "true";
  } catch (err) {
    $("question-text").textContent = "题库加载失败";
    setStatus(err.status === 401 ? "需要访问令牌。" : "出错了：" + err.message, true);
  }
}

document.addEventListener("DOMContentLoaded", () => { start(); });
