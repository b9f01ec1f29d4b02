// Staff editor (/admin). (Built in a later step.)
import "./css/base.css";
