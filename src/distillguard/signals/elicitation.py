"""Reasoning elicitation: does a prompt ask the model to write out its reasoning?

Distillation harvests reasoning traces, so its prompts ask for them: "think
step by step", "write out your complete chain of thought", "write your full
reasoning in Chinese", a place kept for the reasoning in a structured answer
(``<think>`` tags, a scratchpad, a ``reasoning`` field of a JSON reply, a
"Thought: <…> Answer: <…>" format), grading and preference prompts that
produce reward data, and attempts to reveal hidden reasoning or the system
prompt.

``elicitation(texts)`` gives each text a graded score in [0, 1] and the kind of
its strongest cue (``KINDS``), or None. Rules are regular expressions over the
normalised text (case-folded, punctuation removed, see
``text.normalize_array``), one alternation per (kind, score) covering English,
Chinese, Spanish, German, French, Japanese and Russian; Italian, Portuguese,
Dutch and Korean for the commonest phrases; "step by step" in Turkish,
Polish, Vietnamese, Indonesian, Arabic and Hindi. They run through RE2 after a cheap keyword pre-filter: all
rule patterns at once (one ``re2.Set``, compiled once per process) over each
pre-filtered text; a text matching no rule scores 0.

Scores: the strongest rule's score, plus 0.05 for each further kind matched.
Roughly: a bare "explain" 0, "explain your reasoning" 0.45, "step by step" on its
own 0.4, "think step by step" 0.6, a reasoning field or tag 0.6 ("put your
thinking in <think> tags" 0.8), "show your complete reasoning" 0.8, rubric
grading 0.7, preference between two responses 0.75, hidden reasoning or the
system prompt 0.9, "write your complete reasoning in Chinese" 0.95. Many real
users ask for step-by-step explanations: a score says what a prompt asks,
not who sent it.

>>> score, kind = elicitation(["Think step by step.", "Escribe todo tu razonamiento en chino"])
>>> [round(float(s), 2) for s in score], kind
([0.6, 1.0], ['step_by_step', 'reasoning_in_language'])
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.signals.patterns import ARROW_MIN, PatternSet

__all__ = ["KINDS", "RULES", "Rule", "elicitation", "elicitation_of_array"]

KINDS: Final = (
    "full_reasoning",
    "reasoning_in_language",
    "step_by_step",
    "rubric_grading",
    "reward_model",
    "reveal_hidden",
)


@dataclass(frozen=True)
class Rule:
    """A cue: every pattern in ``all_of`` must match (RE2, normalised text)."""

    kind: str
    score: float
    all_of: tuple[str, ...]


def _alt(*parts: str) -> str:
    return "(?:" + "|".join(parts) + ")"


# Shared vocabulary (English).
_NOUN = _alt(
    r"reasoning(?: process| trace| steps?| chain)?",
    r"thinking(?: process)?",
    r"thought process(?:es)?",
    r"chain of thoughts?",
    r"train of thought",
    r"(?:inner|internal) monologue",
    r"scratch ?pad",
    r"derivations?",
    r"rationale",
    r"deliberations?",
)
_FULL = _alt(
    "complete",
    "full",
    "entire",
    "whole",
    "detailed",
    "all",
    "every",
    "verbatim",
    "raw",
    "unabridged",
    "exhaustive",
    "extended",
    "long",
    "lengthy",
    "thorough",
    "step by step",
)
#: The tags and fields a structured answer keeps its reasoning in.
_TAG = _alt(
    "think",
    "thinking",
    "thoughts?",
    "reasoning",
    "scratch ?pad",
    "cot",
    "chain of thoughts?",
    "rationale",
    "inner monologue",
    "monologue",
    "reflection",
)
_FIELD = _alt(
    "reasoning(?: steps| trace| process)?",
    "thinking",
    "thought process",
    "rationale",
    "chain of thoughts?",
    "cot",
    "scratch ?pad",
)
_VERB = _alt(
    "show",
    "write",
    "give",
    "provide",
    "output",
    "print",
    "include",
    "display",
    "present",
    "share",
    "spell",
    "lay",
    "dump",
    "detail",
    "document",
    "describe",
    "explain",
    "walk",
    "reveal",
    "list",
    "type",
    "produce",
    "generate",
)
_VERB_GAP = r"(?: (?:out|down|up|through|me|us|all|of|your|the|its|my|a|an|each|every|entire)){0,5}"
_LANGS_EN = _alt(
    "chinese",
    "mandarin",
    "english",
    "japanese",
    "korean",
    "russian",
    "spanish",
    "german",
    "french",
    "portuguese",
    "italian",
    "arabic",
    "hindi",
    "vietnamese",
    "thai",
    "turkish",
    "indonesian",
    "polish",
    "dutch",
    "persian",
    "cantonese",
)
_LANGS_ZH = "(?:中文|汉语|漢語|英文|英语|日语|日文|韩语|韩文|俄语|俄文|西班牙语|法语|德语|葡萄牙语|意大利语|阿拉伯语)"
_LANGS_JA = "(?:日本語|中国語|英語|韓国語|ロシア語|スペイン語|ドイツ語|フランス語)"
_LANGS_ES = _alt(
    "chino",
    "mandarín",
    "inglés",
    "español",
    "japonés",
    "ruso",
    "alemán",
    "francés",
    "coreano",
    "portugués",
    "italiano",
)
_LANGS_DE = _alt(
    "chinesisch",
    "englisch",
    "deutsch",
    "japanisch",
    "russisch",
    "spanisch",
    "französisch",
    "koreanisch",
    "portugiesisch",
    "italienisch",
)
_LANGS_FR = _alt(
    "chinois",
    "anglais",
    "français",
    "japonais",
    "russe",
    "espagnol",
    "allemand",
    "coréen",
    "portugais",
    "italien",
    "mandarin",
)
_LANGS_RU = r"(?:китайском|английском|русском|японском|испанском|немецком|французском|корейском|португальском)"

RULES: Final = (
    # -- reasoning written in a given language -------------------------------------
    Rule(
        "reasoning_in_language",
        0.95,
        (
            _alt(
                r"\b" + _alt(_NOUN, "thoughts") + r"(?: \S+){0,6} in " + _LANGS_EN,
                r"(?:^|please |must |should |to |always |only |and |then )(?:think|reason|deliberate|reflect)"
                r"(?: (?:only|entirely|internally|step by step|carefully|it through|through it|out loud|aloud)){0,3}"
                r" in " + _LANGS_EN,
                r"\bin " + _LANGS_EN + r"(?: \S+){0,6} " + _NOUN,
                "(?:用|以|使用)"
                + _LANGS_ZH
                + r".{0,16}(?:思考|推理|思维|推导|想法|分析过程|解题过程)",
                r"(?:思考|推理|思维|推导)(?:过程|链|步骤)?.{0,16}(?:用|以|使用)" + _LANGS_ZH,
                _LANGS_JA + r"で.{0,16}(?:思考|推論|考え)",
                r"(?:思考|推論|考え)(?:過程|プロセス|の過程)?.{0,16}" + _LANGS_JA + "で",
                r"(?:razonamiento|pensamiento|razona|razones|piensa|pienses)(?: \S+){0,6} en "
                + _LANGS_ES,
                r"(?:denkprozess|gedankengang|gedanken|überlegungen|argumentation|begründung|denke|denk)(?: \S+){0,6} auf "
                + _LANGS_DE,
                r"auf "
                + _LANGS_DE
                + r"(?: \S+){0,6} (?:denkprozess|gedankengang|gedanken|überlegungen|argumentation|nachdenken|denken)",
                r"(?:raisonnement|réflexion|pensée|raisonne|réfléchis|réfléchissez|raisonnez)(?: \S+){0,6} en "
                + _LANGS_FR,
                r"(?:рассуждени\pL*|мысл\pL*|размышлени\pL*|рассуждай\pL*|думай\pL*)(?: \S+){0,6} на "
                + _LANGS_RU,
            ),
        ),
    ),
    # -- hidden reasoning, system prompt ----------------------------------------------
    Rule(
        "reveal_hidden",
        0.9,
        (
            _alt(
                r"\b(?:hidden|internal|private|secret|concealed|raw) (?:reasoning|thoughts?|thinking|chain of thoughts?|monologue|scratch ?pad|deliberations?)",
                r"\b(?:reveal|show|print|output|repeat|display|tell me|give me|what is|what s|whats|leak|dump|disclose|share|write out|copy)(?: me)? (?:your|the)(?: full| exact| original| initial| entire| hidden| complete)? (?:system prompt|system message|system instructions|initial instructions|original instructions|hidden instructions|developer (?:message|prompt|instructions)|instructions (?:above|you were given))",
                r"\b(?:repeat|print|output) (?:all |everything |the (?:text|words) )?(?:above|before this)",
                r"(?:隐藏|内部|内在|原始)的?(?:思考|推理|思维|想法)",
                r"(?:显示|展示|输出|告诉我|透露|泄露|公开|重复)(?:你的)?(?:系统提示|系统指令|初始指令|原始指令)",
                r"(?:隠された|隠れた|内部の)(?:思考|推論|考え)",
                r"システムプロンプト(?:を|の内容)",
                r"(?:razonamiento|pensamiento|pensamientos|razonamientos) (?:oculto|ocultos|interno|internos)",
                r"(?:muestra|revela|dime|repite)(?: \S+){0,3} (?:prompt|mensaje|instrucciones) del sistema",
                r"(?:verborgene|versteckte|interne|geheime)[nrs]? (?:denkprozess|gedanken|überlegungen|argumentation|gedankengang)",
                r"(?:zeige|verrate|gib|wiederhole)(?: \S+){0,3} (?:systemprompt|system prompt|systemanweisung|systemnachricht)",
                r"(?:raisonnement|pensées|réflexions?) (?:caché|cachée|cachés|cachées|interne|internes)",
                r"(?:montre|révèle|donne|répète)(?: \S+){0,3} (?:prompt système|invite système|instructions système|message système)",
                r"(?:скрыт|внутренн)\pL* (?:рассуждени|мысл|размышлени)\pL*",
                r"(?:покажи|раскрой|выведи|повтори)(?: \S+){0,3} системн\pL* (?:промпт|подсказк|инструкци|сообщени)\pL*",
            ),
        ),
    ),
    # -- full reasoning -----------------------------------------------------------------
    Rule(
        "full_reasoning",
        0.8,
        (
            _alt(
                r"\b"
                + _VERB
                + _VERB_GAP
                + " "
                + _FULL
                + r"(?: of)?(?: (?:your|the|my|its))?(?: \pL+)? "
                + _NOUN,
                r"chain of thoughts?",
                r"(?:reasoning|thinking|thought) (?:process|trace) in full",
                r"\b(?:do not|dont|never) (?:skip|omit|leave out) (?:any )?(?:steps|reasoning)",
                r"(?:完整|全部|所有|详细|整个|全部的)的?(?:思考|推理|思维|推导|解题|思路)(?:过程|链|步骤)?",
                r"思维链|思考链|推理链",
                r"(?:写出|写下|展示|输出|给出|列出)(?:你的)?(?:思考|推理|推导|思维)过程",
                r"(?:思考|推論)(?:過程|プロセス|の過程)を?(?:すべて|全て|全部|完全に|詳しく|詳細に|省略せずに)",
                r"(?:すべて|全て|全部|完全な|詳細な)の?(?:思考|推論)(?:過程|プロセス)",
                r"(?:todo|toda) (?:tu|su|el|la|vuestro) (?:razonamiento|proceso de pensamiento|pensamiento|cadena de pensamiento|proceso de razonamiento)",
                r"(?:razonamiento|proceso de pensamiento|proceso de razonamiento) (?:completo|entero|detallado|íntegro)",
                r"cadena de (?:pensamiento|razonamiento)",
                r"(?:vollständige|gesamte|ganze|komplette|detaillierte|ausführliche)[nrs]? (?:denkprozess|gedankengang|gedankengänge|argumentation|überlegungen|begründung|denkweg|lösungsweg|rechenweg|gedanken)",
                r"alle (?:deine|ihre|eure|deinen) (?:überlegungen|gedanken|gedankengänge|denkschritte|rechenschritte)",
                r"gedankenkette",
                r"(?:tout|toute) (?:ton|votre|le|ta|sa) (?:raisonnement|réflexion|cheminement)",
                r"(?:raisonnement|processus de réflexion|cheminement|réflexion) (?:complet|complète|entier|entière|détaillé|détaillée|intégral)",
                r"chaîne de (?:pensée|raisonnement|pensées)",
                r"(?:все|всё|весь|всю)(?: свои| ваши| твои)? (?:рассуждени|размышлени|ход мысл|ход рассуждени|мысл)\pL*",
                r"(?:полное|полностью|подробное|подробно) (?:рассуждени|ход мыслей|процесс рассуждени)\pL*",
                r"цепочк\pL* (?:рассуждени|мысл)\pL*",
                # A container for the reasoning: the tags reasoning models
                # write (<think>), a scratchpad, in a given place.
                r"\b(?:put|place|write|wrap|enclose|include|output|show|give|provide|keep|record|reason|think)"
                r"(?: \S+){0,6} (?:inside|in|within|between|into|using|with) (?:\S+ ){0,2}</?"
                + _TAG
                + ">",
                r"(?:tutto|tutta) (?:il|la) (?:tuo |tua |vostro |suo )?(?:ragionamento|processo di pensiero|processo di ragionamento)",
                r"(?:ragionamento|processo di pensiero|processo di ragionamento) (?:completo|dettagliato|intero|integrale)",
                r"catena di (?:pensiero|ragionamento|pensieri)",
                r"(?:todo|toda) o (?:seu |teu |vosso )?(?:raciocínio|processo de pensamento|processo de raciocínio)",
                r"(?:raciocínio|processo de pensamento|processo de raciocínio) (?:completo|detalhado|inteiro|integral)",
                r"cadeia de (?:pensamento|raciocínio|pensamentos)",
                r"(?:volledige|hele|complete|gedetailleerde|uitgebreide) (?:redenering|gedachtegang|denkproces|denkstappen|afleiding)",
                r"alle (?:je|jouw|uw) (?:redeneringen|gedachten|denkstappen|tussenstappen)",
                r"gedachteketen",
                r"(?:모든|전체|전부|자세한|상세한|완전한) (?:추론|사고|풀이|생각) ?과정",
                r"(?:사고|생각)의 사슬",
            ),
        ),
    ),
    Rule(
        "full_reasoning",
        0.6,
        (
            _alt(
                r"\bshow (?:all )?(?:of )?(?:your|the|my) (?:work|working|calculations)\b",
                r"(?:思考|推論)(?:過程|プロセス)を(?:書|示|説明|出力|見せ)",
                r"\b(?:show|write|give|provide|include|output|display) (?:me )?(?:your|the) (?:reasoning|thinking|thought process)",
                r"(?:^|please |to |and |then |always |should |must |you |lets |,)(?:think|reason)(?: \S+){0,2} (?:aloud|out loud)\b",
                # Reasoning asked for as a part of a structured answer: a
                # tag of its own, a field of a JSON object, a format line.
                r"</?" + _TAG + ">",
                r"\b(?:json|yaml|xml)\b(?: \S+){0,12} " + _FIELD + r"\b",
                r"\b(?:thoughts?|reasoning|thinking|rationale) <[^>]{0,60}>(?: \S+){0,3} (?:final )?answer\b",
                r"mostra(?:mi)?(?: \S+){0,2} (?:il tuo |tuo |il )?(?:ragionamento|procedimento)",
                r"mostre(?: \S+){0,2} (?:o seu |seu |o teu |o )?(?:raciocínio|trabalho)",
                r"(?:laat|toon)(?: \S+){0,2} (?:je|jouw|uw) (?:redenering|gedachtegang|berekening)",
                r"(?:추론|사고|풀이) ?과정을 (?:보여|작성|설명|써|적어)",
            ),
        ),
    ),
    Rule(
        "full_reasoning",
        0.45,
        (
            _alt(
                r"\b(?:explain|describe|justify|share) (?:your|the) (?:reasoning|thought process|thinking|rationale)",
                r"(?:explica|muestra) (?:tu|su) razonamiento",
                r"(?:erkläre|erläutere|begründe) (?:deine|ihre|deinen|ihren) (?:überlegungen|gedankengang|argumentation|antwort)",
                r"(?:explique|expliquez|justifie|justifiez) (?:ton|votre|ta) (?:raisonnement|réponse)",
                r"(?:объясни|поясни|обоснуй)\pL* (?:свое|своё|ваше|твое|твоё) (?:рассуждени|решени|ответ)\pL*",
                r"(?:说明|解释)(?:你的)?(?:理由|思路|推理)",
            ),
        ),
    ),
    # -- step by step ---------------------------------------------------------------------
    Rule(
        "step_by_step",
        0.6,
        (
            _alt(
                r"\b(?:think|reason|solve|answer|calculate|compute|derive|figure|analy[sz]e)(?: \S+){0,4} step by step",
                r"\b(?:work|go|proceed|approach|respond)(?: it| this| that| out| through(?: it| this)?){0,2} step by step",
                r"\blets (?:think|reason|work|solve|go)(?: \S+){0,3} step by step",
                r"step by step (?:reasoning|solution|thinking|derivation|explanation|calculation)",
                r"\b(?:explain|show|justify|detail|write out) (?:each|every|all(?: of)?(?: the)?|your)"
                r" (?:intermediate |calculation |reasoning |solution )?steps?\b",
                r"one step at a time",
                r"(?:一步一步|一步步|逐步|分步)(?:地)?(?:思考|推理|想|解答|分析|推导|计算|解决|来)",
                r"(?:思考|推理|解答|分析)(?:时)?要?(?:一步一步|一步步|逐步)",
                r"(?:ステップバイステップ|段階的に|一歩ずつ|順を追って|順序立てて)(?:で)?(?:考え|解い|推論|説明|解説|思考)",
                r"(?:piensa|pensemos|razona|razonemos|resuelve|resuélvelo|resuelvelo|explica|explícalo|calcula|analiza)(?: \S+){0,3} paso a paso",
                r"(?:explica|muestra|detalla) cada paso",
                r"(?:denke|denk|denken|löse|erkläre|überlege|begründe|rechne|analysiere|gehe)(?: \S+){0,3} schritt für schritt",
                r"(?:erkläre|zeige|beschreibe) jeden (?:einzelnen )?schritt",
                r"(?:réfléchis|réfléchissez|résous|résolvez|explique|expliquez|raisonne|raisonnez|pensons|raisonnons|procède|calcule|analyse)(?: \S+){0,3} (?:étape par étape|pas à pas)",
                r"(?:explique|expliquez|détaille|montre) chaque étape",
                r"(?:подумай|думай|подумайте|реши|решите|объясни|объясните|рассуждай|рассуждайте|давай подумаем|решай|посчитай)(?: \S+){0,3} (?:шаг за шагом|пошагово|поэтапно)",
                r"(?:объясни|объясните|покажи|распиши)\pL* каждый шаг",
                r"(?:단계별로|차근차근) (?:생각|풀|설명)",
                r"\b(?:explain|show|justify|detail|write out|document|list|state) (?:each|every|all(?: of)?(?: the| your)?)"
                r" (?:intermediate (?:results?|calculations?|steps?)|inferences?|deductions?|sub ?steps?|logical steps?)\b",
                r"(?:pensa|pensiamo|ragiona|ragioniamo|risolvi|spiega|calcola|analizza|procedi)(?: \S+){0,3} passo (?:dopo |per )?passo",
                r"(?:spiega|mostra|descrivi) ogni passaggio",
                r"(?:pense|pensa|pensemos|raciocine|raciocina|resolva|resolve|explique|explica|calcule|analise)(?: \S+){0,3} passo a passo",
                r"(?:denk|denken|los|leg|redeneer|bereken|analyseer|werk)(?: \S+){0,3} stap voor stap",
            ),
        ),
    ),
    Rule(
        "step_by_step",
        0.4,
        (
            _alt(
                r"step by step",
                r"each step",
                r"every step",
                r"walk me through",
                r"一步一步|一步步|逐步|分步骤",
                r"ステップバイステップ|段階的に|一歩ずつ|順を追って",
                r"paso a paso",
                r"schritt für schritt",
                r"étape par étape",
                r"pas à pas",
                r"шаг за шагом|пошагово|поэтапно",
                r"단계별로|차근차근",
                r"passo (?:dopo |per |a )passo",
                r"stap voor stap",
                r"adım adım",
                r"krok po kroku",
                r"từng bước",
                r"langkah demi langkah",
                r"خطوة بخطوة",
                r"चरण दर चरण|क़?दम दर क़?दम",
            ),
        ),
    ),
    # -- grading and preference (reward data) ---------------------------------------------
    Rule(
        "rubric_grading",
        0.75,
        (
            _alt(
                r"\b(?:grade|score|rate|evaluate|assess|judge|mark)(?: \S+){0,3} (?:responses?|answers?|outputs?|completions?|repl(?:y|ies)|submissions?|generations?)(?: \S+){0,8} (?:scale|rubric|criteria|points?|score|from \d+ to \d+)",
                r"\b(?:against|using|according to|based on) (?:this|the following|the given|the|a) (?:grading |scoring |evaluation )?rubric",
                r"\b(?:act as|you are)(?: an?)?(?: impartial| expert| strict| fair| neutral| helpful)* (?:judge|grader|evaluator|rater|reward model)",
                r"(?:评分|打分|评估|评价)(?:以下|下面|这个|该)?(?:的)?(?:回答|回复|答案|输出)|(?:回答|回复|答案|输出).{0,10}(?:评分|打分)|评分标准",
                r"(?:回答|応答|答え|出力)を.{0,10}(?:採点|評価)|採点基準|評価基準",
                r"(?:califica|evalúa|evalua|puntúa|valora)(?: \S+){0,2} (?:respuesta|respuestas|salida)",
                r"(?:bewerte|bewerten sie|benote|beurteile)(?: \S+){0,2} (?:antwort|antworten|ausgabe)",
                r"(?:note|notez|évalue|évaluez|juge|jugez)(?: \S+){0,2} (?:réponse|réponses|sortie)",
                r"(?:оцени|оцените)(?: \S+){0,2} (?:ответ|ответы)",
            ),
        ),
    ),
    Rule(
        "rubric_grading",
        0.7,
        (
            _alt(
                r"(?:on|using|with) a (?:scale|score) (?:of|from) \d+ (?:to|-) \d+",
                r"\d+ (?:to|out of) \d+ (?:scale|points)",
                r"en una escala del? \d+ (?:al?|-) \d+",
                r"auf einer skala von \d+ bis \d+",
                r"sur une échelle de \d+ à \d+",
                r"по шкале от \d+ до \d+",
                r"\d+(?:到|至|-)\d+分",
                r"\d+から\d+の(?:スケール|段階|点)|\d+段階で評価",
            ),
            _alt(
                "response",
                "answer",
                "assistant",
                "output",
                "completion",
                "submission",
                "essay",
                "respuesta",
                "antwort",
                "réponse",
                "ответ",
                "回答",
                "回复",
                "答案",
                "応答",
            ),
        ),
    ),
    Rule(
        "rubric_grading",
        0.55,
        (r"rubric|rúbrica|rubrik|bewertungsschema|grille d évaluation|критерии оценки",),
    ),
    Rule(
        "reward_model",
        0.75,
        (
            _alt(
                r"\bwhich (?:of (?:the |these )?|one of (?:the |these )?)?(?:two |2 |following |both )?(?:responses|answers|outputs|completions|replies|assistants|summaries|translations) (?:is|was) (?:better|best|more helpful|preferred|preferable|more accurate|superior|higher quality|more harmless)",
                r"\b(?:response|answer|output|assistant|completion) a (?:and|or|vs|versus) (?:response |answer |output |assistant |completion )?b",
                r"assistant [ab] is better",
                r"\bcompare (?:the )?(?:two|both|these|following) (?:responses|answers|outputs|completions)",
                r"\b(?:preferred|chosen|rejected) (?:response|answer|completion)",
                r"(?:哪个|哪一个)(?:回答|回复|答案|输出)更好|(?:两个|以下两个)(?:回答|回复)",
                r"どちらの(?:回答|応答|答え|出力)が(?:良い|よい|優れ|適切)",
                r"(?:cuál|qué) de las (?:dos )?(?:respuestas|salidas) es (?:mejor|más útil|preferible)",
                r"welche (?:der beiden|von beiden|der zwei) (?:antworten|ausgaben) ist besser",
                r"laquelle des (?:deux )?(?:réponses|sorties) est (?:la )?(?:meilleure|plus utile)",
                r"какой из (?:двух )?(?:ответов|вариантов) (?:лучше|предпочтительнее)",
            ),
        ),
    ),
)

# Every rule contains one of these (English ones at a word start); texts without
# any skip the rules. A test checks that the pre-filter changes no result.
_PREFILTER_EN: Final = """
    reason think thought step work rubric grade score
    rate judge evaluat assess respons answer assistant output
    hidden internal system instruction repeat print chain monolog
    scratch deriv rationale deliberat walk compar prefer chosen
    reject scale explain describe justify calculat completion reward
    lets dont aloud loud cot reflect inferenc deduc intermediat substep
"""
_PREFILTER_OTHER: Final = """
    razon pensa pensem piens paso respuesta escala sistema califica evalú
    denk gedank argumentation schritt antwort skala bewert rubrik
    raison chemin grille rúbrica überleg begründ réflé réflex
    pensé étape pas_à_pas réponse échelle caché шаг рассужд мысл размышл думай
    подумай ответ шкал оцен скрыт внутрен систем пошаг
    поэтап 思考 推理 思维 推导 思路 想 过程
    步 评 回答 回复 答案 输出 隐藏 内部
    内在 原始 系统 推論 考え 段階 ステップ 順
    歩 採点 評価 応答 答え 隠 システム 過程
    단계 차근 理由 解释 说明 systè lösungsweg rechenweg
    ragionament pensier passo passaggio procediment catena raciocín pensament
    cadeia mostre redener gedachte stap berekening tussenstap afleiding
    추론 사고 풀이 생각 adım krok từng_bước langkah خطوة चरण दम
"""
_PREFILTER: Final = _alt(
    r"\b" + _alt(*_PREFILTER_EN.split()),
    *(t.replace("_", " ") for t in _PREFILTER_OTHER.split()),
)

_CUTOFF_KIND: Final = 0.2
_BONUS: Final = 0.05


def elicitation(texts: Sequence[str]) -> tuple[npt.NDArray[np.float32], list[str | None]]:
    """Score (float32 in [0, 1]) and kind (or None) of each text."""
    from distillguard.signals.text import normalize_array

    return elicitation_of_array(normalize_array(texts))


def elicitation_of_array(
    norm: pa.LargeStringArray, *, prefilter: bool = True
) -> tuple[npt.NDArray[np.float32], list[str | None]]:
    """``elicitation`` of already normalised texts."""
    n = len(norm)
    score = np.zeros(n, dtype=np.float32)
    kinds: list[str | None] = [None] * n
    rows = np.arange(n)
    if prefilter and n:
        rows = np.flatnonzero(_prefilter(norm))
        norm = norm.take(pa.array(rows))
    if not len(rows):
        return score, kinds
    best, best_kind, seen = _apply_rules(norm)
    extra = np.maximum(seen.sum(axis=1) - 1, 0) * _BONUS
    final = np.where(best > 0, np.minimum(best + extra, 1.0), 0.0).astype(np.float32)
    score[rows] = final
    for r, s, k in zip(rows.tolist(), final.tolist(), best_kind.tolist(), strict=True):
        if s >= _CUTOFF_KIND:
            kinds[r] = KINDS[k]
    return score, kinds


def _prefilter(norm: pa.LargeStringArray) -> npt.NDArray[np.bool_]:
    if len(norm) >= ARROW_MIN:
        hit = pc.match_substring_regex(norm, _PREFILTER).to_numpy(zero_copy_only=False)
        return np.asarray(hit, dtype=bool)
    return _prefilter_set().matches(norm)[:, 0]


def _apply_rules(
    norm: pa.LargeStringArray,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
    """Best score, its kind index, and which kinds matched, per row."""
    n = len(norm)
    best = np.zeros(n)
    best_kind = np.zeros(n, dtype=np.intp)
    seen = np.zeros((n, len(KINDS)), dtype=bool)
    matched = _rule_set().matches(norm)
    for rule in RULES:
        hit = np.ones(n, dtype=bool)
        for pattern in rule.all_of:
            hit &= matched[:, _RULE_PATTERNS.index(pattern)]
        k = KINDS.index(rule.kind)
        seen[:, k] |= hit
        better = hit & (rule.score > best)
        best[better] = rule.score
        best_kind[better] = k
    return best, best_kind, seen


_RULE_PATTERNS: Final = tuple(dict.fromkeys(p for rule in RULES for p in rule.all_of))


@functools.cache
def _rule_set() -> PatternSet:
    return PatternSet(_RULE_PATTERNS)


@functools.cache
def _prefilter_set() -> PatternSet:
    return PatternSet([_PREFILTER])
