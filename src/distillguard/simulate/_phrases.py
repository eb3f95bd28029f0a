"""Fixed texts that frame corpus prompts: benchmark harness templates, reasoning
requests, multilingual frames, batch-job templates, judge prompts, follow-ups.

Templates hold ``{q}`` (the corpus text) and sometimes ``{a}``/``{b}``; they are
filled with ``str.replace``, so braces elsewhere are literal. Most phrasings are
used by benign and malicious populations alike: asking for step-by-step
reasoning is not a tell on its own.
"""

from __future__ import annotations

#: Public evaluation-harness prompt formats.
EVAL_MATH = (
    "Solve the following math problem step by step. The last line of your response should be "
    "of the form Answer: $ANSWER (without quotes) where $ANSWER is the answer to the problem."
    '\n\n{q}\n\nRemember to put your answer on its own line after "Answer:", and you do not '
    "need to use a \\boxed command.",
    "{q}\nPlease reason step by step, and put your final answer within \\boxed{}.",
    "Question: {q}\nAnswer: Let's think step by step.",
    "Q: {q}\nA: Let's think step by step.",
    "Problem:\n{q}\n\nSolution:",
    "{q}",
)
EVAL_CODE = (
    "Complete the following Python function. Return only the code.\n\n```python\n{q}\n```",
    "Read the function signature and docstring below, think through the problem step by step, "
    "then write the complete implementation.\n\n{q}",
    "{q}",
)

#: Short reasoning requests appended to a task (benign and malicious alike).
COT_SUFFIX = (
    "Let's think step by step.",
    "Please reason step by step, and put your final answer within \\boxed{}.",
    "Think step by step and show your reasoning.",
    "Show your work.",
    "Explain your reasoning step by step before giving the final answer.",
    "Show all intermediate steps.",
    "Explain your reasoning in full detail.",
)

#: Longer harvesting frames: demand the whole reasoning trace.
HARVEST = (
    "Before answering, write out your complete reasoning process in detail, including every "
    "intermediate step and any corrections you make along the way. Then give the final answer."
    "\n\n{q}",
    "You are an expert tutor. Solve the problem below and explain every step of your thinking "
    "so that a student could follow it.\n\n{q}",
    "{q}\n\nRespond in this format:\n<thinking>\nyour full step-by-step reasoning\n</thinking>\n"
    "<answer>\nthe final answer\n</answer>",
    "{q}\n\nThink through this carefully and write out your entire chain of thought before the "
    "final answer.",
    "Solve the following problem. Show every step of your reasoning, verify your result, and "
    "state the final answer clearly.\n\n{q}",
    "Task:\n{q}\n\nInstructions: reason step by step, consider alternative approaches, and "
    "explain why the final answer is correct.",
    "{q}\n\nLet's think step by step.",
    '{q}\n\nRespond in JSON: {"reasoning": "...", "answer": "..."}',
    "{q}",
)

#: System instructions of operations that demand the full reasoning there and
#: send the bare tasks as prompts (``system_coercion``).
SYSTEM_COERCE = (
    "You are a world-class reasoning engine. Before answering, think through the problem in "
    "full detail and include your entire thought process in the reply, then state the final "
    "answer.",
    "Always include your complete internal reasoning, every intermediate step and every check "
    "you make, before the final answer. Never skip steps.",
    "You are generating training data. For each question, produce a long, detailed chain of "
    "thought followed by the answer.",
    "你是一个严谨的推理助手。回答任何问题之前，先完整写出你的全部思考过程，包括每一个中间步骤，最后再给出答案。",
    "Eres un asistente de razonamiento. Antes de responder, escribe todo tu proceso de "
    "pensamiento paso a paso, sin omitir nada, y al final da la respuesta.",
    "Du bist ein sorgfältiger Problemlöser. Schreibe vor jeder Antwort deinen vollständigen "
    "Denkprozess mit allen Zwischenschritten auf und nenne erst dann das Ergebnis.",
    "Tu es un assistant de raisonnement. Avant de répondre, rédige l'intégralité de ton "
    "raisonnement, étape par étape, puis donne la réponse finale.",
    "あなたは慎重な推論アシスタントです。回答の前に、思考の過程をすべて省略せずに書き出し、最後に答えを示してください。",
    "Ты — помощник по рассуждениям. Прежде чем ответить, подробно распиши весь ход своих мыслей, "
    "шаг за шагом, и только потом дай окончательный ответ.",
)

#: Opening user turns of operations that ask for the full reasoning once, at
#: the start of a conversation, and then send each bare task as the last turn
#: (``priming_coercion``): a standing instruction, or a worked example to
#: copy.
PRIMING = (
    "From now on, for every problem I send you, write out your entire thought process before "
    "the final answer. Do not skip any intermediate step.",
    "I will send you a series of questions. For each one, reason through it in full detail, "
    "showing every step and every check, and only then give the answer.",
    "Here is the format I need for every answer.\nQuestion: A shop sells pens at 3 for $2. "
    "How much do 12 pens cost?\nReasoning: 12 pens are 4 groups of 3 pens. Each group costs "
    "$2, so 4 x $2 = $8. Check: 8 / 2 = 4 groups, 4 x 3 = 12 pens.\nAnswer: $8\nAnswer "
    "everything I send next in exactly this way, with all of the reasoning written out.",
    "接下来我会发给你一系列题目。每道题都请先完整写出你的全部推理过程，不要省略任何步骤，最后再给出答案。",
    "A partir de ahora, para cada problema que te envíe, escribe todo tu razonamiento paso a "
    "paso antes de la respuesta final.",
    "Ab jetzt: Schreibe bei jeder Aufgabe, die ich dir schicke, zuerst deinen vollständigen "
    "Lösungsweg mit allen Zwischenschritten auf und dann das Ergebnis.",
    "Désormais, pour chaque question que je t'envoie, rédige tout ton raisonnement étape par "
    "étape avant de donner la réponse.",
    "これから問題を送ります。どの問題についても、答えの前に考えの過程をすべて省略せずに書いてください。",
    "Дальше я буду присылать тебе задачи. Для каждой сначала подробно распиши весь ход "
    "рассуждений, шаг за шагом, и только потом дай ответ.",
)
#: The model's acknowledgement of a priming turn.
PRIMING_ACK = (
    "Understood. Send the first problem.",
    "Got it. I'll show every step of my reasoning before each answer.",
    "Sure, I'll follow that format.",
    "好的，请发第一道题。",
    "Entendido.",
    "Verstanden.",
    "D'accord.",
    "承知しました。",
    "Понял.",
)

#: System prompts that ask for reasoning (tutor apps, research, harvesters).
REASONING_SYSTEM = (
    "You are a patient math tutor. Always explain your reasoning step by step and check the "
    "answer at the end.",
    "You are a helpful assistant. Think carefully and show your full reasoning before answering.",
    "You are an expert problem solver. For every question, write out your complete chain of "
    "thought, then give the final answer on its own line.",
    "Answer as a careful expert. Reason step by step.",
)

#: Demands for the full reasoning in another language (harvesting).
COERCE = {
    "zh": (
        "请用中文写出你完整的思考过程，然后给出最终答案。",
        "请一步一步详细推理，把每一步的思考过程都用中文写出来。",
        "在回答之前，请先用中文完整地展示你的推理过程，包括所有中间步骤。",
    ),
    "es": (
        "Escribe todo tu razonamiento paso a paso en español antes de dar la respuesta final.",
        "Explica en español, con todo detalle, tu proceso de pensamiento completo.",
        "Razona paso a paso y muestra todo tu razonamiento en español.",
    ),
    "de": (
        "Schreibe deinen vollständigen Denkprozess Schritt für Schritt auf Deutsch auf, bevor "
        "du die endgültige Antwort gibst.",
        "Erkläre auf Deutsch ausführlich jeden Schritt deiner Überlegungen.",
        "Denke Schritt für Schritt nach und schreibe alle Zwischenschritte auf Deutsch auf.",
    ),
    "fr": (
        "Rédige en français l'intégralité de ton raisonnement, étape par étape, avant de "
        "donner la réponse finale.",
        "Explique en détail, en français, tout ton processus de réflexion.",
        "Raisonne étape par étape et écris tout ton raisonnement en français.",
    ),
    "ja": (
        "日本語で、最終的な答えを出す前に、あなたの思考過程をすべて段階的に書き出してください。",
        "日本語で一歩一歩推論し、途中の考えをすべて詳しく説明してください。",
        "答える前に、推論の過程を日本語で完全に示してください。",
    ),
    "ru": (
        "Подробно распиши на русском языке весь ход своих рассуждений шаг за шагом, а затем "
        "дай окончательный ответ.",
        "Объясни на русском языке каждый шаг своего решения и все промежуточные рассуждения.",
        "Рассуждай шаг за шагом и запиши все свои рассуждения по-русски.",
    ),
    "ko": (
        "답을 제시하기 전에 한국어로 전체 사고 과정을 단계별로 자세히 적어 주세요.",
        "한국어로 한 단계씩 추론하고 모든 중간 과정을 설명해 주세요.",
    ),
    "pt": (
        "Escreva todo o seu raciocínio passo a passo em português antes de dar a resposta final.",
        "Explique em português, em detalhes, todo o seu processo de pensamento.",
    ),
    "ar": (
        "اكتب عملية تفكيرك الكاملة خطوة بخطوة باللغة العربية قبل تقديم الإجابة النهائية.",
        "اشرح بالتفصيل كل خطوة من خطوات تفكيرك باللغة العربية.",
    ),
}

#: Students asking, in their own language, to be walked through a problem.
STUDENT = {
    "zh": (
        "这道题怎么做？能一步一步讲解一下吗？",
        "请帮我解释一下这道题的解题步骤：",
        "老师布置的作业，我不太懂，能详细讲讲思路吗？",
        "请一步一步详细推理，把每一步的思考过程都写出来。",
        "可以用中文解释一下为什么答案是这样吗？",
    ),
    "es": (
        "¿Me puedes explicar paso a paso cómo resolver este problema?",
        "No entiendo este ejercicio, ¿me ayudas a resolverlo paso a paso?",
        "Explícame el razonamiento, por favor:",
        "Razona paso a paso y muestra todo tu razonamiento en español.",
    ),
    "de": (
        "Kannst du mir Schritt für Schritt erklären, wie man diese Aufgabe löst?",
        "Ich verstehe diese Hausaufgabe nicht. Kannst du mir den Lösungsweg erklären?",
        "Bitte erkläre mir jeden Schritt:",
    ),
    "fr": (
        "Peux-tu m'expliquer étape par étape comment résoudre ce problème ?",
        "Je ne comprends pas cet exercice, tu peux m'aider en détaillant chaque étape ?",
        "Explique-moi le raisonnement, s'il te plaît :",
    ),
    "ja": (
        "この問題の解き方を順を追って説明してください。",
        "宿題でわからない問題があります。考え方を一歩ずつ教えてください。",
        "なぜこの答えになるのか、日本語で詳しく説明してください。",
    ),
    "ru": (
        "Объясни, пожалуйста, пошагово, как решить эту задачу:",
        "Не понимаю эту задачу из домашнего задания, помоги разобраться по шагам.",
        "Распиши решение подробно, чтобы было понятно.",
    ),
    "ko": ("이 문제 어떻게 푸는지 단계별로 설명해 주세요.",),
    "pt": ("Você pode me explicar passo a passo como resolver esse problema?",),
}

#: Everyday frames around a pasted text, per language.
FRAMES = {
    "zh": (
        "请把下面这段话翻译成中文：\n\n{q}",
        "帮我总结一下这段内容：\n{q}",
        "这段英文是什么意思？\n{q}",
        "请用简单的中文回答：{q}",
    ),
    "es": (
        "Traduce al español:\n\n{q}",
        "Resume este texto en pocas frases:\n{q}",
        "¿Qué significa esto?\n{q}",
        "Responde en español: {q}",
    ),
    "de": (
        "Übersetze bitte ins Deutsche:\n\n{q}",
        "Fasse diesen Text kurz zusammen:\n{q}",
        "Was bedeutet das?\n{q}",
        "Antworte bitte auf Deutsch: {q}",
    ),
    "fr": (
        "Traduis en français :\n\n{q}",
        "Résume ce texte en quelques phrases :\n{q}",
        "Qu'est-ce que ça veut dire ?\n{q}",
        "Réponds en français : {q}",
    ),
    "ja": (
        "次の文章を日本語に翻訳してください。\n\n{q}",
        "この内容を短くまとめてください：\n{q}",
        "これはどういう意味ですか？\n{q}",
        "日本語で答えてください：{q}",
    ),
    "ru": (
        "Переведи на русский:\n\n{q}",
        "Кратко перескажи этот текст:\n{q}",
        "Что это значит?\n{q}",
        "Ответь по-русски: {q}",
    ),
}

#: Everyday questions per language; ``{x}`` and ``{y}`` are filled from SLOTS.
NATIVE = {
    "zh": (
        "周末去{x}旅游，有什么推荐的景点和美食？",
        "帮我写一封请假邮件，理由是{y}。",
        "如何在三个月内提高{y}？",
        "给我推荐几本关于{y}的书。",
        "{x}的冬天冷吗？需要带什么衣服？",
        "用Python写一个函数来处理{y}相关的数据。",
        "我想学{y}，应该从哪里开始？",
        "帮我写一段给同事的生日祝福，他喜欢{y}。",
    ),
    "es": (
        "¿Qué me recomiendas visitar en {x} durante un fin de semana?",
        "Escríbeme un correo formal para pedir un día libre por {y}.",
        "¿Cómo puedo mejorar en {y} en tres meses?",
        "Recomiéndame libros sobre {y}.",
        "¿Qué tiempo hace en {x} en invierno?",
        "Dame ideas para una fiesta temática de {y}.",
        "Quiero aprender {y}, ¿por dónde empiezo?",
        "Escribe un poema corto sobre {x}.",
    ),
    "de": (
        "Was sollte ich an einem Wochenende in {x} unbedingt sehen?",
        "Schreib mir eine kurze E-Mail an meinen Chef wegen {y}.",
        "Wie kann ich in drei Monaten besser in {y} werden?",
        "Empfiehl mir Bücher über {y}.",
        "Wie ist das Wetter in {x} im Winter?",
        "Ich möchte {y} lernen. Wo fange ich an?",
        "Erkläre mir den Unterschied zwischen {y} und Statistik.",
        "Schreibe ein kurzes Gedicht über {x}.",
    ),
    "fr": (
        "Que faut-il voir à {x} pendant un week-end ?",
        "Écris-moi un e-mail poli pour demander un congé à cause de {y}.",
        "Comment progresser en {y} en trois mois ?",
        "Conseille-moi des livres sur {y}.",
        "Quel temps fait-il à {x} en hiver ?",
        "Je veux apprendre {y}, par où commencer ?",
        "Donne-moi des idées de cadeau pour quelqu'un qui aime {y}.",
        "Écris un petit poème sur {x}.",
    ),
    "ja": (
        "週末に{x}へ旅行します。おすすめの観光地と食べ物を教えてください。",
        "{y}のために休みを取りたいです。上司へのメールを書いてください。",
        "3か月で{y}を上達させるにはどうすればいいですか？",
        "{y}についてのおすすめの本を教えてください。",
        "{x}の冬はどれくらい寒いですか？",
        "{y}を勉強したいのですが、何から始めればいいですか？",
        "{y}が好きな友人への誕生日メッセージを考えてください。",
        "{x}についての短い詩を書いてください。",
    ),
    "ru": (
        "Что посмотреть в {x} за выходные?",
        "Напиши письмо начальнику с просьбой об отгуле из-за {y}.",
        "Как за три месяца улучшить {y}?",
        "Посоветуй книги про {y}.",
        "Какая погода в {x} зимой?",
        "Хочу изучать {y}. С чего начать?",
        "Придумай поздравление с днём рождения для друга, который любит {y}.",
        "Напиши короткое стихотворение про {x}.",
    ),
}
SLOTS = {
    "zh": (
        ("北京", "上海", "成都", "杭州", "西安", "台北", "香港", "东京"),
        ("英语口语", "机器学习", "摄影", "理财", "编程", "写作", "健身", "搬家"),
    ),
    "es": (
        ("Madrid", "Sevilla", "Ciudad de México", "Buenos Aires", "Bogotá", "Valencia"),
        ("programación", "inglés", "fotografía", "finanzas personales", "cocina", "mudanza"),
    ),
    "de": (
        ("Berlin", "München", "Hamburg", "Wien", "Zürich", "Köln"),
        ("Programmierung", "Englisch", "Fotografie", "Finanzen", "Umzug", "Arzttermin"),
    ),
    "fr": (
        ("Paris", "Lyon", "Marseille", "Bordeaux", "Montréal", "Bruxelles"),
        ("programmation", "anglais", "photographie", "finances", "déménagement", "cuisine"),
    ),
    "ja": (
        ("京都", "大阪", "札幌", "福岡", "沖縄", "東京"),
        ("英会話", "プログラミング", "写真", "資産運用", "引っ越し", "料理"),
    ),
    "ru": (
        ("Москве", "Санкт-Петербурге", "Казани", "Сочи", "Новосибирске", "Калининграде"),
        ("программирование", "английский", "фотографию", "финансы", "переезд", "кулинарию"),
    ),
}

#: Chatty openers and closers ordinary users wrap around a request.
CASUAL_PRE = (
    "hey ",
    "hi, ",
    "quick question: ",
    "pls help: ",
    "Can you help me with this? ",
    "ok so ",
    "Hello! ",
    "Hi there. ",
    "I have a question. ",
    "",
)
CASUAL_POST = (
    " thanks",
    " thx",
    " please",
    " :)",
    "\n\nthanks in advance",
    "?",
    " asap",
    " (be concise)",
    "",
)

FOLLOW_UPS = (
    "Can you make it shorter?",
    "Thanks! Can you give me an example?",
    "Can you explain that in simpler terms?",
    "Why?",
    "What do you mean by that?",
    "Can you expand on the second point?",
    "That's not quite right. Can you try again?",
    "Please continue.",
    "Can you put that in a table?",
    "Thanks, that helps!",
    "Can you explain it step by step?",
    "Make it more formal.",
    "Translate that into Spanish.",
    "Now write it as a bulleted list.",
    "Great. What are the downsides?",
    "ok and what about the cost?",
    "Can you add comments to the code?",
    "shorter please",
    "Summarize this in one sentence.",
    "Is there a faster way to do it?",
    "continue",
    "Can you check your answer again?",
    "What would you recommend?",
    "give me 5 more",
)
#: Follow-ups of harvesters asking for the trace of the previous answer.
HARVEST_FOLLOW_UPS = (
    "Now show your complete reasoning for that answer, step by step.",
    "Please continue.",
    "Explain your thought process in full.",
    "Can you explain it step by step?",
    "continue",
    "Can you check your answer again?",
)

ASSISTANT_OPEN = (
    "Sure!",
    "Of course.",
    "Great question.",
    "Here's an overview.",
    "Certainly.",
    "Let's break this down.",
    "Good point.",
    "Absolutely.",
    "Here you go:",
    "",
)
ASSISTANT_BODY = (
    "There are a few key points to consider.",
    "The short answer is that it depends on context.",
    "Here is one way to approach it, step by step.",
    "Below is a draft you can adapt.",
    "The main idea is to start simple and iterate.",
    "I've listed the most common options.",
    "This comes down to three factors: cost, time and quality.",
    "Here is the corrected version with explanations.",
    "The result follows from the definition.",
    "I would recommend the second option for most cases.",
)
ASSISTANT_CLOSE = (
    "Let me know if you want more detail.",
    "Hope this helps!",
    "Would you like an example?",
    "I can shorten it if needed.",
    "",
)

#: Judge prompts: MT-bench (FastChat, Apache-2.0) formats and common rubric styles.
JUDGE = (
    "[Instruction]\nPlease act as an impartial judge and evaluate the quality of the response "
    "provided by an AI assistant to the user question displayed below. Your evaluation should "
    "consider factors such as the helpfulness, relevance, accuracy, depth, creativity, and level "
    "of detail of the response. Begin your evaluation by providing a short explanation. Be as "
    "objective as possible. After providing your explanation, you must rate the response on a "
    'scale of 1 to 10 by strictly following this format: "[[rating]]", for example: '
    '"Rating: [[5]]".\n\n[Question]\n{q}\n\n[The Start of Assistant\'s Answer]\n{a}\n'
    "[The End of Assistant's Answer]",
    "Please act as an impartial judge and evaluate the quality of the responses provided by two "
    "AI assistants to the user question displayed below. You should choose the assistant that "
    "follows the user's instructions and answers the user's question better. Begin your "
    "evaluation by comparing the two responses and provide a short explanation. Output your "
    'final verdict by strictly following this format: "[[A]]" if assistant A is better, '
    '"[[B]]" if assistant B is better, and "[[C]]" for a tie.\n\n[User Question]\n{q}\n\n'
    "[The Start of Assistant A's Answer]\n{a}\n[The End of Assistant A's Answer]\n\n"
    "[The Start of Assistant B's Answer]\n{b}\n[The End of Assistant B's Answer]",
)
RUBRIC = (
    *JUDGE,
    "Grade the following answer on a 1–10 scale for correctness, completeness and clarity. "
    'Explain your grading step by step, then output the final score as "Score: X".\n\n'
    "Question:\n{q}\n\nAnswer:\n{a}",
    "You are a reward model. Compare the two responses to the prompt below. Reason carefully "
    "about the strengths and weaknesses of each, then state which is better as [[A]] or [[B]]."
    "\n\nPrompt:\n{q}\n\nResponse A:\n{a}\n\nResponse B:\n{b}",
    "Evaluate the assistant's reply below for helpfulness, honesty and harmlessness. For each "
    "criterion give a score from 1 to 10 with a detailed justification, then an overall score."
    "\n\nUser: {q}\n\nAssistant: {a}",
    "Is the following solution correct? Check every step, point out the first error if there "
    'is one, and finish with "Verdict: correct" or "Verdict: incorrect".\n\nProblem: {q}\n\n'
    "Proposed solution: {a}",
)

#: Enterprise batch templates; ``{id}`` is a record number, ``{lang}`` a language.
BATCH = {
    "emotion": "Classify the emotion expressed in the following Reddit comment. Answer with one "
    "label from: admiration, amusement, anger, annoyance, approval, caring, confusion, curiosity, "
    "desire, disappointment, disapproval, disgust, embarrassment, excitement, fear, gratitude, "
    "grief, joy, love, nervousness, optimism, pride, realization, relief, remorse, sadness, "
    "surprise, neutral.\n\nComment: {q}\nLabel:",
    "moderation": "Decide whether the user message below violates the community guidelines. "
    'Reply with JSON {"violation": true|false, "category": string}.\n\nMessage:\n{q}',
    "ticket": "Ticket #{id}\nCustomer message:\n{q}\n\nClassify this ticket into one of "
    "[billing, bug, feature_request, account, other] and rate its urgency from 1 to 5. Respond "
    "as JSON.",
    "translate": "Translate the following text into {lang}. Keep the formatting.\n\n{q}",
    "extract": "Extract every product, person, organisation and date mentioned in the text "
    "below. Return a JSON object with keys products, people, organisations, dates.\n\nText:\n{q}",
    "summary": "Summarize the following document in 3 bullet points for an internal "
    "newsletter.\n\nDocument ID: {id}\n\n{q}",
    "review": "Review #{id}\n{q}\n\nIs this review positive, negative or mixed? Also list the "
    "product aspects mentioned. Answer in JSON.",
    # A label with a short reason: structured output that asks for reasoning.
    "triage": "Message {id}:\n{q}\n\nRoute this message to one of [sales, support, legal, "
    'spam]. Reply with JSON {"team": string, "reasoning": string}, the reasoning in one '
    "sentence.",
}
BATCH_SYSTEM = (
    "You are a precise data-processing assistant. Follow the output format exactly.",
    "You label text for an analytics pipeline. Output only the requested format.",
    "You are a professional translator.",
    "You write concise business summaries.",
)
APP_SYSTEM = (
    "You are a friendly writing assistant inside a note-taking app. Keep answers short.",
    "You are the support assistant of an online store. Be polite and helpful.",
    "You are a coding assistant integrated in an IDE. Prefer concise code answers.",
    "You are a travel planning assistant.",
    "You are a language learning coach. Correct mistakes gently.",
    "You help sales teams draft e-mails.",
    *REASONING_SYSTEM[:1],
)

#: Follow-ups in other languages.
FOLLOW_UPS_BY_LANG = {
    "zh": (
        "能再简短一点吗？",
        "谢谢！能举个例子吗？",
        "为什么？",
        "请继续。",
        "能用更简单的话解释吗？",
    ),
    "es": (
        "¿Puedes resumirlo?",
        "¡Gracias! ¿Me das un ejemplo?",
        "¿Por qué?",
        "Continúa, por favor.",
        "Explícalo más fácil.",
    ),
    "de": (
        "Kannst du es kürzer machen?",
        "Danke! Hast du ein Beispiel?",
        "Warum?",
        "Bitte weiter.",
        "Erklär es einfacher.",
    ),
    "fr": (
        "Tu peux faire plus court ?",
        "Merci ! Tu as un exemple ?",
        "Pourquoi ?",
        "Continue, s'il te plaît.",
        "Explique plus simplement.",
    ),
    "ja": (
        "もう少し短くできますか？",
        "ありがとう！例を挙げてもらえますか？",
        "なぜですか？",
        "続けてください。",
        "もっと簡単に説明してください。",
    ),
    "ru": (
        "Можно короче?",
        "Спасибо! Можно пример?",
        "Почему?",
        "Продолжай, пожалуйста.",
        "Объясни проще.",
    ),
    "ko": ("좀 더 짧게 해 줄 수 있어요?", "고마워요! 예를 들어 줄래요?", "왜요?"),
    "pt": ("Pode resumir?", "Obrigado! Pode dar um exemplo?", "Por quê?"),
}
